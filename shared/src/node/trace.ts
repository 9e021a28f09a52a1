/**
 * W3C Trace Context (`traceparent: 00-<trace-id>-<span-id>-<flags>`): a job
 * keeps one trace id from the WebSocket upgrade (if the client sent one)
 * through the AMQP message headers into the worker's logs.
 */
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

/** Parses a traceparent header; null when absent or malformed (all-zero ids are invalid). */
export function parseTraceparent(header: string | undefined | null): TraceContext | null {
  const m = TRACEPARENT.exec((header ?? '').trim().toLowerCase());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return null;
  return { traceId: m[2]!, spanId: m[3]!, flags: m[4]! };
}

/** A child context: the parent's trace id (or a new one) with a new span id. */
export function childTrace(parent: TraceContext | null): TraceContext {
  return {
    traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    flags: parent?.flags ?? '01',
  };
}

export function formatTraceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}
