/**
 * docs/asyncapi.yaml is generated from the zod schemas (tools/asyncapi.ts);
 * this fails when the committed file no longer matches them, and checks the
 * document covers every message both ways and is internally consistent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import type { z } from 'zod';
import {
  clientMessages,
  loadGatewayConfig,
  controlMessage,
  jobMessage,
  jobReply,
  replyExchangeMessage,
  serverMessage,
  topology,
} from '@media-foundry/shared';
import { ASYNCAPI_FILE, renderAsyncApi, type AsyncApiDocument, type JsonSchema } from '#tools/asyncapi.js';

const REGENERATE = 'run `npm run asyncapi` and commit docs/asyncapi.yaml';
const DEFAULTS = loadGatewayConfig({});

/** Where two parsed documents first differ, as a JSON pointer; null when equal. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
    return path || '/';
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    const found = firstDifference(ra[key], rb[key], `${path}/${key}`);
    if (found !== null) return found;
  }
  return path || '/';
}

/** Resolves a local `#/a/b` reference. */
function resolve(doc: unknown, pointer: string): unknown {
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), doc);
}

/** Every `$ref` value in the document. */
function refs(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refs);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [v] : refs(v)));
}

/** Every sub-schema of a JSON Schema (not `default`, `const` or `examples` values). */
function subSchemas(schema: JsonSchema): JsonSchema[] {
  const children: unknown[] = [];
  for (const key of ['oneOf', 'anyOf', 'allOf']) children.push(...((schema[key] as unknown[] | undefined) ?? []));
  children.push(...Object.values((schema.properties as Record<string, unknown> | undefined) ?? {}));
  for (const key of ['items', 'additionalProperties', 'not'])
    if (typeof schema[key] === 'object' && schema[key] !== null) children.push(schema[key]);
  return [schema, ...children.flatMap((c) => subSchemas(c as JsonSchema))];
}

const committed = existsSync(ASYNCAPI_FILE) ? (parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as AsyncApiDocument) : null;
const fresh = parse(renderAsyncApi()) as AsyncApiDocument;

const CLIENT_TYPES = Object.keys(clientMessages);
const SERVER_TYPES = serverMessage.options.map((o) => o.shape.type.value);

describe('docs/asyncapi.yaml', () => {
  it('is what the generator makes of the current zod schemas', () => {
    if (committed === null) throw new Error(`docs/asyncapi.yaml is missing: ${REGENERATE}`);
    const where = firstDifference(committed, fresh);
    if (where !== null)
      throw new Error(`docs/asyncapi.yaml is out of date with the zod schemas (first difference at ${where}): ${REGENERATE}`);
  });

  it('is AsyncAPI 3.0.0 with the WebSocket and the RabbitMQ servers', () => {
    expect(fresh.asyncapi).toBe('3.0.0');
    expect(fresh.servers.websocket).toMatchObject({ protocol: 'ws', host: `{host}:${DEFAULTS.wsPort}` });
    expect(fresh.servers.rabbitmq).toMatchObject({ protocol: 'amqp', host: '{host}:5672' });
  });

  it('receives every client message type and sends every server message type on the WebSocket', () => {
    const channel = fresh.channels.websocket;
    expect(Object.keys(channel?.messages ?? {})).toEqual(expect.arrayContaining([...CLIENT_TYPES, ...SERVER_TYPES]));
    const names = (op: string) => (fresh.operations[op]?.messages ?? []).map((m) => m.$ref.split('/').at(-1));
    expect(fresh.operations.receiveClientMessages?.action).toBe('receive');
    expect(names('receiveClientMessages')).toEqual(expect.arrayContaining([...CLIENT_TYPES, 'upload_frame']));
    expect(fresh.operations.sendServerMessages?.action).toBe('send');
    expect(names('sendServerMessages')).toEqual(expect.arrayContaining([...SERVER_TYPES, 'output_frame']));
    for (const type of [...CLIENT_TYPES, ...SERVER_TYPES])
      expect(fresh.components.messages[type]?.payload).toEqual({ $ref: expect.stringMatching(/^#\/components\/schemas\//) });
  });

  it('describes the binary frame with the BinaryHeader schema', () => {
    for (const name of ['upload_frame', 'output_frame']) {
      const message = fresh.components.messages[name];
      expect(message?.contentType).toBe('application/octet-stream');
      expect(message?.description).toContain('[u32 BE header length][header JSON][bytes]');
      expect(message?.headers).toEqual({ $ref: '#/components/schemas/BinaryHeader' });
    }
    expect(fresh.components.schemas.BinaryHeader).toMatchObject({ required: ['job_id', 'filename'] });
  });

  it('declares the jobs queue as the services do', () => {
    const t = topology(DEFAULTS.queuePrefix);
    const jobs = fresh.channels.jobs;
    expect(jobs?.address?.replace('{prefix}', DEFAULTS.queuePrefix)).toBe(t.jobsQueue);
    expect(jobs?.bindings?.amqp).toMatchObject({
      is: 'queue',
      queue: { name: t.jobsQueue, durable: true },
      'x-arguments': { 'x-queue-type': 'quorum', 'x-delivery-limit': DEFAULTS.jobDeliveryLimit },
    });
    expect(fresh.channels.control?.bindings?.amqp).toMatchObject({ exchange: { name: t.controlExchange, type: 'fanout' } });
    expect(fresh.operations.receiveJob?.reply?.address.location).toBe('$message.header#/reply_to');
  });

  it('has every $ref resolve inside the document', () => {
    const dangling = refs(fresh).filter((r) => !r.startsWith('#/') || resolve(fresh, r) === undefined);
    expect(dangling).toEqual([]);
  });

  it('has operations only use messages of their own channel', () => {
    for (const [id, op] of Object.entries(fresh.operations))
      for (const m of op.messages) expect(`${id}: ${m.$ref}`).toMatch(new RegExp(`^${id}: ${op.channel.$ref}/messages/`));
  });

  it('has no schema zod could not express (which unrepresentable: "any" turns into {})', () => {
    const empty = Object.entries(fresh.components.schemas).filter(([, s]) => subSchemas(s).some((sub) => Object.keys(sub).length === 0));
    expect(empty.map(([name]) => name)).toEqual([]);
  });

  it('has examples the zod schemas accept', () => {
    const schemaOf: Record<string, z.ZodType> = {
      ...clientMessages,
      ...Object.fromEntries(serverMessage.options.map((o) => [o.shape.type.value, o])),
      job: jobMessage,
      job_reply: jobReply,
      exchange_reply: replyExchangeMessage,
      control: controlMessage,
      gateway_notice: replyExchangeMessage,
    };
    let checked = 0;
    for (const [name, message] of Object.entries(fresh.components.messages)) {
      const schema = schemaOf[name];
      for (const example of message.examples ?? []) {
        expect(schema).toBeDefined();
        const result = schema?.safeParse(example.payload);
        expect({ name, example: example.name, issues: result?.error?.issues ?? [] }).toEqual({
          name,
          example: example.name,
          issues: [],
        });
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(CLIENT_TYPES.length + SERVER_TYPES.length);
  });
});
