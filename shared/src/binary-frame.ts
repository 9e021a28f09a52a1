/**
 * Binary frames: `[4-byte big-endian header length][header JSON][payload]`.
 * Pure and browser-safe (Uint8Array, TextEncoder), used by the gateway, the
 * tests and any JavaScript client.
 */
import { errors } from './errors.js';
import { binaryHeader, MAX_BINARY_HEADER_BYTES, type BinaryHeader } from './protocol.js';
import { formatIssues } from './validation.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Builds one frame. The header is any JSON object (download headers carry more fields later). */
export function encodeBinaryFrame(header: object, payload: Uint8Array): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  const frame = new Uint8Array(4 + json.length + payload.length);
  new DataView(frame.buffer).setUint32(0, json.length, false);
  frame.set(json, 4);
  frame.set(payload, 4 + json.length);
  return frame;
}

/** Splits a frame into its JSON header (unvalidated) and a view of the payload; throws INVALID_BINARY. */
export function splitBinaryFrame(frame: Uint8Array): { header: unknown; payload: Uint8Array } {
  if (frame.length < 4) throw errors.invalidBinary(`frame is ${frame.length} bytes; it needs at least a 4-byte header length`);
  const headerLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, false);
  if (headerLength === 0) throw errors.invalidBinary('header length is 0');
  if (headerLength > MAX_BINARY_HEADER_BYTES)
    throw errors.invalidBinary(`header length ${headerLength} exceeds the ${MAX_BINARY_HEADER_BYTES}-byte limit`);
  if (4 + headerLength > frame.length)
    throw errors.invalidBinary(`header length ${headerLength} runs past the end of the ${frame.length}-byte frame`);
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(frame.subarray(4, 4 + headerLength)));
  } catch (err) {
    throw errors.invalidBinary(`header is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw errors.invalidBinary('header must be a JSON object');
  return { header, payload: frame.subarray(4 + headerLength) };
}

/** Splits and validates an upload frame's header `{job_id, filename}`. */
export function decodeUploadFrame(frame: Uint8Array): { header: BinaryHeader; payload: Uint8Array } {
  const { header, payload } = splitBinaryFrame(frame);
  const parsed = binaryHeader.safeParse(header);
  if (!parsed.success) throw errors.invalidBinary(`header: ${formatIssues(parsed.error)}`);
  return { header: parsed.data, payload };
}
