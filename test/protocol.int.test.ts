/**
 * The WebSocket protocol's error handling and control messages, against a
 * real gateway and worker on RabbitMQ.
 */
import { useSuite } from './helpers/suite.js';
import { waitFor } from './helpers/wait.js';

const { stack, client } = useSuite();

const lastError = () => client.next((m) => m.type === 'error');

describe('control messages', () => {
  it('answers ping with pong', async () => {
    client.send({ type: 'ping' });
    expect(await client.next((m) => m.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('answers malformed JSON with INVALID_JSON', async () => {
    client.send('{"type": "ping"');
    const err = await lastError();
    expect(err).toMatchObject({ type: 'error', code: 'INVALID_JSON', job_id: null });
    expect(typeof err.details).toBe('string');
  });

  it('answers an unknown type with UNKNOWN_MESSAGE_TYPE, naming it', async () => {
    client.send({ type: 'make_coffee', job_id: 'c1' });
    const err = await lastError();
    expect(err).toMatchObject({ code: 'UNKNOWN_MESSAGE_TYPE', job_id: 'c1' });
    expect(err.details).toContain('make_coffee');
  });

  it('answers an invalid start_job with VALIDATION_ERROR whose details name the field', async () => {
    client.send({
      type: 'start_job',
      job_id: 'v1',
      operation: 'speed',
      input: { source: 'url', url: 'http://127.0.0.1/x.mp4' },
      options: { speed_factor: 42 },
    });
    const err = await lastError();
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR', job_id: 'v1' });
    expect(err.details).toContain('options.speed_factor');
  });

  it('refuses an unknown operation and a non-http URL', async () => {
    client.send({ type: 'start_job', operation: 'teleport', input: { source: 'url', url: 'http://a/b' } });
    expect((await lastError()).details).toContain('operation');
    client.received.length = 0;
    client.send({ type: 'start_job', operation: 'thumbnail', input: { source: 'url', url: 'file:///etc/passwd' } });
    const err = await lastError();
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details).toContain('input.url');
  });

  it('refuses a text message over the size limit', async () => {
    client.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    const err = await lastError();
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details).toMatch(/at most \d+ bytes/);
  });

  it('answers cancel_job for an unknown job with CANCEL_FAILED', async () => {
    client.send({ type: 'cancel_job', job_id: 'never-started' });
    expect(await lastError()).toMatchObject({ code: 'CANCEL_FAILED', job_id: 'never-started' });
  });

  it('cancels a job still waiting for its upload', async () => {
    client.send({ type: 'start_job', job_id: 'up-cancel', operation: 'thumbnail', input: { source: 'upload' }, options: {} });
    await client.next((m) => m.type === 'ack');
    client.send({ type: 'cancel_job', job_id: 'up-cancel' });
    expect(await lastError()).toMatchObject({ code: 'JOB_CANCELLED', job_id: 'up-cancel' });
  });
});

describe('binary frames', () => {
  it('answers a frame shorter than its length prefix with INVALID_BINARY', async () => {
    client.sendRaw(Buffer.from([0, 0]));
    expect(await lastError()).toMatchObject({ code: 'INVALID_BINARY', job_id: null });
  });

  it('answers a header length that runs past the frame with INVALID_BINARY', async () => {
    const frame = Buffer.alloc(10);
    frame.writeUInt32BE(1000, 0);
    client.sendRaw(frame);
    expect((await lastError()).details).toContain('runs past the end');
  });

  it('answers a header that is not JSON, or lacks fields, with INVALID_BINARY', async () => {
    const junk = Buffer.from('not json');
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(junk.length, 0);
    client.sendRaw(Buffer.concat([frame, junk, Buffer.from('data')]));
    expect((await lastError()).code).toBe('INVALID_BINARY');
    client.received.length = 0;
    client.upload('x', '../../etc/passwd', Buffer.from('data'));
    const err = await lastError();
    expect(err.code).toBe('INVALID_BINARY');
    expect(err.details).toContain('filename');
  });

  it('answers an upload for no waiting job with BINARY_ERROR', async () => {
    client.upload('nobody', 'in.mp4', Buffer.from('data'));
    expect(await lastError()).toMatchObject({ code: 'BINARY_ERROR', job_id: 'nobody' });
  });

  it('keeps serving after all of the above', async () => {
    client.sendRaw(Buffer.from([1]));
    client.send('}{');
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
    expect(client.messages().filter((m) => m.type === 'error')).toHaveLength(2);
  });
});

describe('auth off', () => {
  it('warns at start-up that the WebSocket is open', () => {
    expect(stack.gateway.logs.some((l) => l.level === 40 && String(l.msg).includes('open to anyone'))).toBe(true);
  });
});

describe('health', () => {
  it('reports broker state, connections, active jobs and queue depth', async () => {
    // the queue depth is read in the background (every 5 s, probes never wait on the broker): null until a read succeeds
    let body: Record<string, unknown> = {};
    await waitFor(
      async () => {
        const res = await fetch(stack.healthUrl);
        expect(res.status).toBe(200);
        body = (await res.json()) as Record<string, unknown>;
        return body.queue_depth !== null;
      },
      15_000,
      'a queue depth in /health',
    );
    expect(body).toMatchObject({ status: 'ok', service: 'gateway', broker: 'connected', active_jobs: 0, queue_depth: 0 });
    expect(body.connections).toBeGreaterThanOrEqual(1);
  });
});
