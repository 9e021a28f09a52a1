/**
 * Thousands of random and mutated messages — junk JSON, huge numbers, NaN,
 * nested junk, shell metacharacters in every string field, truncated frames,
 * header lengths that lie — against a real gateway: every message gets an
 * answer, the gateway keeps serving, and corrupt uploads fail cleanly.
 */
import { randomBytes } from 'node:crypto';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

/** A small seeded PRNG, so a failure can be replayed (the seed is in the test name). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const NASTY_STRINGS = [
  '; rm -rf / #',
  '$(reboot)',
  '`id`',
  '| nc evil 1 ',
  '&& curl x',
  "'; DROP TABLE jobs; --",
  '../../../../etc/passwd',
  'file:///etc/passwd',
  'concat:/etc/passwd|x',
  'subtitles=/etc/passwd',
  '[0:v]split[a][b]',
  '\u0000',
  '\ud800',
  '𝕏'.repeat(50),
  'x'.repeat(5000),
  '',
  ' ',
  '%n%s%x',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'http://169.254.169.254/latest/meta-data/',
];
const NASTY_NUMBERS = [0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.1, 1e-320, 3.14159, 10.0000001, 0.2499999, 21, 20, 1e21];
const OPERATIONS = [
  'speed',
  'extract_audio',
  'thumbnail',
  'concat',
  'subtitles',
  'probe',
  'compress',
  'teleport',
  '__proto__',
  'constructor',
];

function junkValue(depth = 0): unknown {
  switch (Math.floor(rand() * (depth > 3 ? 4 : 7))) {
    case 0:
      return pick(NASTY_STRINGS);
    case 1:
      return pick(NASTY_NUMBERS);
    case 2:
      return pick([true, false, null]);
    case 3:
      return Math.floor(rand() * 1e6);
    case 4:
      return Array.from({ length: Math.floor(rand() * 4) }, () => junkValue(depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 4) }, () => [
          pick(['type', 'job_id', 'url', 'options', 'x', '__proto__']),
          junkValue(depth + 1),
        ]),
      );
  }
}

/** A start_job that is plausible, then damaged in one or two places. */
function mutatedStartJob(i: number): Record<string, unknown> {
  const m: Record<string, unknown> = {
    type: 'start_job',
    job_id: `fz-${i}`,
    operation: pick(OPERATIONS),
    // a loopback URL the workers may not fetch: valid messages still fail safely as JOB_FAILED
    input: pick([
      { source: 'url', url: 'http://127.0.0.2/x.mp4' },
      { source: 'url', urls: ['http://127.0.0.2/a', junkValue()] },
      { source: pick(['url', 'upload', 'ftp']) },
    ]),
    options: {
      speed_factor: pick(NASTY_NUMBERS),
      format: pick(NASTY_STRINGS),
      count: pick(NASTY_NUMBERS),
      timestamp: pick(NASTY_NUMBERS),
      filters: junkValue(),
    },
  };
  const keys = Object.keys(m);
  for (let k = 0; k < 1 + Math.floor(rand() * 2); k++) m[pick(keys)] = junkValue();
  if (rand() < 0.3) m[pick(['extra', 'job_id', 'delivery_method'])] = pick(NASTY_STRINGS);
  return m;
}

function textMessage(i: number): string {
  switch (i % 6) {
    case 0:
      return JSON.stringify(mutatedStartJob(i));
    case 1:
      return JSON.stringify({ type: pick(['cancel_job', 'ping', 'resume_job', 'start_job', 'PING', '', 'toString']), job_id: junkValue() });
    case 2:
      return JSON.stringify(junkValue());
    case 3:
      return JSON.stringify(mutatedStartJob(i)).slice(0, Math.floor(rand() * 80)); // truncated JSON
    case 4:
      return randomBytes(1 + Math.floor(rand() * 64)).toString('latin1');
    default:
      return `{"type":"start_job","operation":"speed","options":{"speed_factor":${pick(['NaN', 'Infinity', '-0', '1e999', '0x10', '"2"'])}}}`;
  }
}

function binaryMessage(): Buffer {
  const payload = randomBytes(Math.floor(rand() * 256));
  const header = Buffer.from(
    pick([JSON.stringify({ job_id: 'fz', filename: pick(NASTY_STRINGS) }), JSON.stringify(junkValue()), 'not json', '']),
  );
  const frame = Buffer.concat([Buffer.alloc(4), header, payload]);
  const lie = pick([header.length, 0, header.length + 1, 0xffffffff, frame.length, 3, 70000]);
  frame.writeUInt32BE(lie >>> 0, 0);
  return rand() < 0.2 ? frame.subarray(0, Math.floor(rand() * 4)) : frame;
}

const { stack } = useSuite({
  stack: { env: { WS_MAX_MESSAGES_PER_SECOND: '100000', MAX_JOBS_PER_CLIENT: '100000', LOG_LEVEL: 'info' } },
  client: false,
});

it(`answers ${3000} hostile messages one by one and keeps serving (seed ${SEED})`, async () => {
  const client = await TestClient.connect(stack.wsUrl);
  const total = 3000;
  let answered = 0;
  for (let i = 0; i < total; i++) {
    const before = client.received.length;
    if (i % 4 === 3) client.sendRaw(binaryMessage());
    else client.send(textMessage(i));
    // every message gets at least one answer (error, ack, or pong), in order
    await client.until((r) => r.length > before, 10_000);
    answered++;
  }
  expect(answered).toBe(total);
  const types = new Set(client.messages().map((m) => m.type));
  expect(types.has('error')).toBe(true);
  for (const m of client.messages()) expect(['error', 'ack', 'pong', 'progress', 'completed']).toContain(m.type);

  // still serving, on this connection and on a new one
  const mark = client.received.length;
  client.send({ type: 'ping' });
  await client.until((r) => r.slice(mark).some((x) => x.kind === 'json' && x.data.type === 'pong'));
  const fresh = await TestClient.connect(stack.wsUrl);
  fresh.send({ type: 'ping' });
  await fresh.next((m) => m.type === 'pong');
  const health = (await (await fetch(stack.healthUrl)).json()) as Record<string, unknown>;
  expect(health).toMatchObject({ status: 'ok', broker: 'connected' });
  expect(stack.gateway.proc.exitCode).toBeNull();
  expect(stack.workers[0]!.proc.exitCode).toBeNull();
  await Promise.all([client.close(), fresh.close()]);
});
