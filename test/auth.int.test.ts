/** Authentication on the upgrade, origins, and per-client limits, against a real gateway. */
import { SignJWT } from 'jose';
import { TestClient, upgradeStatus } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const KEY = 'test-key-0123456789abcdef';
const OTHER_KEY = 'other-key-0123456789abcdef';
const SECRET = 'jwt-secret-'.padEnd(48, 'x');
const APP = 'https://app.example';

const { stack } = useSuite({
  stack: {
    env: {
      API_KEYS: `${KEY},${OTHER_KEY}`,
      JWT_SECRET: SECRET,
      ALLOWED_ORIGINS: APP,
      WS_MAX_MESSAGES_PER_SECOND: '10',
      MAX_JOBS_PER_CLIENT: '1',
    },
  },
  client: false,
});

describe('upgrade', () => {
  it('refuses a client without a key with 401, before any message', async () => {
    expect(await upgradeStatus(stack.wsUrl)).toBe(401);
    expect(await upgradeStatus(stack.wsUrl, { authorization: 'Bearer wrong-key-0123456789abcdef' })).toBe(401);
    expect(await upgradeStatus(`${stack.wsUrl}/?token=nope`)).toBe(401);
  });

  it('accepts a key as a bearer header or a token query parameter, and a signed JWT', async () => {
    expect(await upgradeStatus(stack.wsUrl, { authorization: `Bearer ${KEY}` })).toBe(101);
    expect(await upgradeStatus(`${stack.wsUrl}/?token=${encodeURIComponent(OTHER_KEY)}`)).toBe(101);
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(SECRET));
    expect(await upgradeStatus(stack.wsUrl, { authorization: `Bearer ${jwt}` })).toBe(101);
  });

  it('refuses browsers from other origins with 403', async () => {
    expect(await upgradeStatus(stack.wsUrl, { authorization: `Bearer ${KEY}`, origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(stack.wsUrl, { authorization: `Bearer ${KEY}`, origin: APP })).toBe(101);
  });

  it('logs a warning at start-up only when no auth is configured', async () => {
    expect(stack.gateway.logs.some((l) => String(l.msg).includes('open to anyone'))).toBe(false);
  });
});

describe('isolation', () => {
  it('does not let another client resume a job, even with its token', async () => {
    const owner = await TestClient.connect(stack.wsUrl, { authorization: `Bearer ${KEY}` });
    owner.send({ type: 'start_job', job_id: 'private', operation: 'probe', input: { source: 'upload' } });
    const ack = await owner.next((m) => m.type === 'ack');
    await owner.close();
    const thief = await TestClient.connect(stack.wsUrl, { authorization: `Bearer ${OTHER_KEY}` });
    thief.send({ type: 'resume_job', job_id: 'private', resume_token: ack.resume_token });
    expect(await thief.next((m) => m.type === 'error')).toMatchObject({ code: 'RESUME_FAILED', job_id: 'private' });
    expect(thief.messages().some((m) => m.type === 'progress' || m.type === 'completed')).toBe(false);
    await thief.close();
  });
});

describe('limits', () => {
  it('answers a burst over WS_MAX_MESSAGES_PER_SECOND with RATE_LIMITED and keeps the connection', async () => {
    const client = await TestClient.connect(stack.wsUrl, { authorization: `Bearer ${KEY}` });
    for (let i = 0; i < 30; i++) client.send({ type: 'ping' });
    await client.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    await new Promise((r) => setTimeout(r, 300));
    const pongs = client.messages().filter((m) => m.type === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(10);
    expect(pongs).toBeLessThan(30);
    await new Promise((r) => setTimeout(r, 1100));
    client.received.length = 0;
    client.send({ type: 'ping' });
    await client.next((m) => m.type === 'pong');
    expect(client.closeCode).toBeNull();
    await client.close();
  });

  it('disconnects a client that keeps flooding (1008)', async () => {
    const client = await TestClient.connect(stack.wsUrl, { authorization: `Bearer ${KEY}` });
    for (let i = 0; i < 200 && client.closeCode === null; i++) client.send({ type: 'ping' });
    await client.until(() => client.closeCode !== null, 5_000).catch(() => undefined);
    expect(client.closeCode).toBe(1008);
  });

  it('limits the uploads one connection may have in flight (MAX_JOBS_PER_CLIENT), not other connections', async () => {
    const a = await TestClient.connect(stack.wsUrl, { authorization: `Bearer ${KEY}` });
    const b = await TestClient.connect(stack.wsUrl, { authorization: `Bearer ${KEY}` });
    const waiting = (jobId: string) => ({ type: 'start_job', job_id: jobId, operation: 'probe', input: { source: 'upload' } });
    a.send(waiting('first'));
    await a.next((m) => m.type === 'ack');
    a.send(waiting('second'));
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'RATE_LIMITED', job_id: 'second' });
    b.send(waiting('theirs'));
    await b.next((m) => m.type === 'ack');
    a.send({ type: 'cancel_job', job_id: 'first' });
    await a.next((m) => m.type === 'error' && m.code === 'JOB_CANCELLED');
    a.send(waiting('second'));
    await a.next((m) => m.type === 'ack' && m.job_id === 'second');
    await Promise.all([a.close(), b.close()]);
  });
});
