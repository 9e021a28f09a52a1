import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { DEFAULT_TENANT, topology } from '@media-foundry/shared';
import { type Broker, createLogger, type TenantQueues } from '@media-foundry/shared/node';
import type { ReplyPublisher } from '../replies.js';
import { IntakeRouter, intakeRefusal, intakeTenant, routableHeaders } from './intake-router.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('intakeTenant', () => {
  it('routes a job to the tenant its message names', () => {
    expect(intakeTenant(json({ job_id: 'j1', operation: 'transcode', tenant: 'acme' }))).toBe('acme');
    expect(intakeTenant(json({ tenant: 'key:3f2a9c0d11e7' }))).toBe('key:3f2a9c0d11e7');
    expect(intakeTenant(json({ tenant: 'Zürich ⚙' }))).toBe('Zürich ⚙');
  });

  it('accepts a tenant name of up to 200 characters', () => {
    const longest = 't'.repeat(200);
    expect(intakeTenant(json({ tenant: longest }))).toBe(longest);
  });

  it('routes a job that names no tenant to the default one', () => {
    expect(DEFAULT_TENANT).toBe('shared');
    expect(intakeTenant(json({ job_id: 'j1', operation: 'transcode' }))).toBe(DEFAULT_TENANT);
    expect(intakeTenant(json({ tenant: null }))).toBe(DEFAULT_TENANT);
  });

  it.each([
    ['an empty name', { tenant: '' }],
    ['a name of 201 characters', { tenant: 't'.repeat(201) }],
    ['a number', { tenant: 42 }],
    ['an object', { tenant: { name: 'acme' } }],
    ['a list', { tenant: ['acme'] }],
    ['a boolean', { tenant: true }],
  ])('routes a job whose tenant is %s to the default tenant', (_label, message) => {
    expect(intakeTenant(json(message))).toBe(DEFAULT_TENANT);
  });

  it.each([
    ['text that is not JSON', Buffer.from('tenant=acme')],
    ['truncated JSON', Buffer.from('{"tenant":"acme"')],
    ['an empty body', Buffer.alloc(0)],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
    ['JSON null', Buffer.from('null')],
    ['a JSON string', Buffer.from('"acme"')],
    ['a JSON number', Buffer.from('7')],
    ['a JSON list', Buffer.from('[{"tenant":"acme"}]')],
  ])('routes %s to the default tenant (the worker answers INVALID_JSON or VALIDATION_ERROR there)', (_label, content) => {
    expect(intakeTenant(content)).toBe(DEFAULT_TENANT);
  });
});

describe('intakeRefusal', () => {
  it('refuses delivery_method "url" with VALIDATION_ERROR: only a gateway makes download links', () => {
    const e = intakeRefusal(json({ job_id: 'j1', operation: 'probe', delivery_method: 'url' }));
    expect(e?.code).toBe('VALIDATION_ERROR');
    expect(e?.details).toMatch(/^delivery_method: "url" is for WebSocket clients/);
  });

  it.each([
    ['binary delivery', { job_id: 'j1', delivery_method: 'binary' }],
    ['no delivery_method', { job_id: 'j1' }],
  ])('routes a job with %s', (_label, message) => {
    expect(intakeRefusal(json(message))).toBeNull();
  });

  it('leaves a body that is not JSON to the worker (INVALID_JSON)', () => {
    expect(intakeRefusal(Buffer.from('{"delivery_method":'))).toBeNull();
  });
});

describe('routableHeaders', () => {
  it('keeps string, finite number and boolean headers, and drops what amqplib could not write back', () => {
    expect(
      routableHeaders({
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        priority: 3,
        urgent: true,
        'x-delivery-count': 2,
        'x-death': [{ count: 1 }],
        ratio: Number.NaN,
        meta: { '!': 'x' },
        list: ['a'],
      }),
    ).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', priority: 3, urgent: true });
  });
});

describe('IntakeRouter on a real amqplib confirm channel', () => {
  it('keeps routing, each job confirmed in turn, after a message whose headers amqplib cannot write back', async () => {
    // amqplib's own ConfirmChannel and encoder over a connection that confirms every publish it is given, in order
    const require = createRequire(import.meta.url);
    const { ConfirmChannel } = require('amqplib/lib/channel_model.js') as { ConfirmChannel: new (connection: unknown) => EventEmitter };
    const defs = require('amqplib/lib/defs.js') as {
      encodeMethod(method: unknown, channel: number, fields: unknown): unknown;
      encodeProperties(properties: unknown, channel: number, size: number, props: unknown): unknown;
    };
    let brokerTag = 0;
    const routed: string[] = [];
    const connection = {
      sendMessage(channel: number, method: unknown, fields: unknown, properties: unknown, props: unknown, content: Buffer) {
        defs.encodeMethod(method, channel, fields);
        defs.encodeProperties(properties, channel, content.length, props); // throws as the real connection does
        const tag = ++brokerTag;
        routed.push(String((JSON.parse(content.toString()) as { job_id: string }).job_id));
        setTimeout(() => ch.emit('ack', { deliveryTag: tag, multiple: false }), 5);
        return true;
      },
    };
    const settled: string[] = [];
    let consumer!: (msg: unknown) => void;
    const ch = Object.assign(new ConfirmChannel(connection), {
      ch: 1,
      prefetch: async () => {},
      assertQueue: async () => {},
      assertExchange: async () => {},
      bindQueue: async () => {},
      consume: async (_queue: string, fn: (msg: unknown) => void) => ((consumer = fn), { consumerTag: 'c' }),
      ack: (m: { content: Buffer }) => void settled.push(`ack ${String(JSON.parse(m.content.toString()).job_id)}`),
      nack: (m: { content: Buffer }) => void settled.push(`nack ${String(JSON.parse(m.content.toString()).job_id)}`),
      close: async () => {},
    });
    const router = new IntakeRouter({
      broker: { channel: (o: { setup(c: unknown): Promise<void> }) => (void o.setup(ch), { close: async () => {} }) } as unknown as Broker,
      topology: topology('media'),
      tenants: { prepare: async () => ({ key: 'k', queue: 'media.tenant.k', depth: 0 }) } as unknown as TenantQueues,
      replies: { send: async () => {} } as unknown as ReplyPublisher,
      config: { jobDeliveryLimit: 3, maxQueuedJobsPerClient: 1000, publishTimeoutMs: 1000 },
      logger: createLogger('test', 'silent'),
      announce: () => {},
    });
    router.start();
    await new Promise((r) => setTimeout(r, 20));
    const msg = (id: string, headers: Record<string, unknown> = {}) => ({
      content: json({ job_id: id }),
      properties: { correlationId: id, headers },
      fields: {},
    });
    consumer(msg('ok-1'));
    // what pika sends for headers={"meta": {"!": "x"}}: amqplib reads the key "!" as its type marker
    consumer(msg('odd-headers', { meta: { '!': 'x' }, ratio: Number.NaN }));
    consumer(msg('ok-2'));
    consumer(msg('ok-3'));
    await new Promise((r) => setTimeout(r, 500));
    expect(routed).toEqual(['ok-1', 'odd-headers', 'ok-2', 'ok-3']);
    expect(settled).toEqual(['ack ok-1', 'ack odd-headers', 'ack ok-2', 'ack ok-3']);
  });
});
