/**
 * Idle connections: the memory an open WebSocket that says nothing costs the
 * gateway, against the same number held by a bare uWebSockets.js server
 * (`App().ws('/*', {…})` with the gateway's socket settings, nothing else).
 * Both run in one bench run, one after the other, as their own processes;
 * each server's resident memory (VmRSS) is read once it has settled after
 * start-up and again once it has settled with N connections open.
 *
 *   tsc -b bench && node bench/dist/idle-connections.js [--connections 19000] [--clients 4] [--runs 1] [--semi-space-mb 1] [--json]
 *
 * Both servers run with V8's young generation held at its starting size
 * (`--max-semi-space-size`, 1 MiB; `--semi-space-mb 0` leaves V8's default):
 * V8 otherwise grows it to tens of MiB under a burst of upgrades and shrinks
 * it again on its own schedule, and that swing (seen: 12 MiB between two
 * readings) is ±600 B per connection at 19,000, none of it held by a
 * connection. With several runs, each side's median is reported.
 *
 * The connections are authenticated like a real client's (an API key in
 * `Authorization`) and come from client processes of their own, so the
 * clients' memory and event loops stay out of the servers' figures. Each
 * connection is one file descriptor in the server and one local port on
 * 127.0.0.1: the open-files limit must allow N plus a margin, and the
 * ephemeral port range must hold N. Needs RabbitMQ (AMQP_URL, default
 * amqp://guest:guest@127.0.0.1:5672) and a build (`tsc -b bench`).
 * A benchmark, not a test: it prints figures and asserts no targets.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type * as UwsTypes from 'uWebSockets.js';
import WebSocket from 'ws';
import { type Cleanup, runMain } from './lib/cleanup.js';
import { ownOptions } from './lib/cli.js';
import { loadTestHelpers } from './lib/helpers.js';
import { median } from './lib/stats.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BARE_SERVER_FLAG = '--bare-server';
const CLIENT_FLAG = '--client';
/** Set on the re-executed run that raised its own open-files limit, so it does not try again. */
const RAISED_ENV = 'MF_BENCH_NOFILE_RAISED';
/** Descriptors a server needs besides its connections (listen sockets, epoll, broker, logs, libraries). */
const FD_MARGIN = 200;
/** Upgrades each client process has in flight at once (well under uSockets' listen backlog). */
const CLIENT_CONCURRENCY = 64;
/** Connections opened and closed before the baseline reading: handler code compiled, pools warm, on both servers. */
const WARM_UP_CONNECTIONS = 500;

/**
 * The gateway's socket settings with the values the bench gives it
 * (gateway/src/server.ts): the bare server gets the same ones.
 */
const WS_MAX_SIZE = 64 * MiB;
const WS_PING_INTERVAL = 30;
const WS_PING_TIMEOUT = 10;
/** MAX_BACKPRESSURE_BYTES in gateway/src/server.ts. */
const MAX_BACKPRESSURE = 64 * MiB;
const IDLE_TIMEOUT_SECONDS = Math.max(8, WS_PING_INTERVAL + WS_PING_TIMEOUT);

/** How a server's RSS is taken as settled: sampled every second, at least `minMs` after the change, steady over `window` samples. */
const SETTLE = { intervalMs: 1000, minMs: 10_000, window: 5, toleranceBytes: 256 * KiB, maxMs: 90_000 };

interface BenchOptions {
  connections: number;
  clients: number;
  runs: number;
  /** `--max-semi-space-size` for both servers, MiB; 0: V8's default. */
  semiSpaceMb: number;
  json: boolean;
}

/** Command line first, then BENCH_* variables, then defaults. */
function parseOptions(argv: string[]): BenchOptions {
  const { whole, flag } = ownOptions(argv, ['connections', 'clients', 'runs', 'semi-space-mb'], ['json']);
  const connections = whole('connections', 19_000);
  return {
    connections,
    clients: whole('clients', Math.max(1, Math.ceil(connections / 5000))),
    runs: whole('runs', 1),
    semiSpaceMb: whole('semi-space-mb', 1, 0),
    json: flag('json'),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Soft and hard open-files limits of a process (`self` or a pid), from /proc/<pid>/limits. */
async function openFilesLimit(pid: number | 'self'): Promise<{ soft: number; hard: number }> {
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) throw new Error(`no "Max open files" line in /proc/${pid}/limits`);
  const value = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(m[1]!), hard: value(m[2]!) };
}

/**
 * Makes sure the servers (which inherit this process's limits) can hold
 * `needed` descriptors. A soft limit below the hard one is raised by running
 * this bench again under `ulimit -n <hard>` (Node cannot raise its own);
 * a hard limit below `needed` only root (or the container runtime) can lift.
 * Returns the exit code of the re-executed run, or null to go on here.
 */
async function ensureOpenFiles(needed: number): Promise<number | null> {
  const { soft, hard } = await openFilesLimit('self');
  if (soft >= needed) return null;
  if (hard < needed)
    throw new Error(
      `the open-files limit is ${hard} (hard) but ${needed} descriptors are needed (connections + ${FD_MARGIN} for the server itself). ` +
        'Raise it as root (`ulimit -Hn`; in Docker `--ulimit nofile=65536:65536`), or ask for fewer with --connections.',
    );
  if (process.env[RAISED_ENV]) throw new Error(`the open-files limit is still ${soft} after raising it to ${hard}`);
  console.error(`raising the open-files limit from ${soft} to ${hard} (needed: ${needed}) and running again`);
  const script = fileURLToPath(import.meta.url);
  const run = spawnSync(
    '/bin/sh',
    [
      '-c',
      'ulimit -n "$1" && shift && exec "$@"',
      'sh',
      String(hard),
      process.execPath,
      ...process.execArgv,
      script,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, [RAISED_ENV]: '1' } },
  );
  if (run.error) throw run.error;
  return run.status ?? 1;
}

/** Every connection to one server address takes a local port of its own. */
async function checkPortRange(connections: number): Promise<void> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => null);
  if (range === null) return;
  const [low, high] = range.trim().split(/\s+/).map(Number) as [number, number];
  if (high - low + 1 < connections)
    throw new Error(
      `the ephemeral port range ${low}-${high} holds ${high - low + 1} ports, fewer than ${connections} connections to one address; ` +
        'widen net.ipv4.ip_local_port_range or ask for fewer with --connections',
    );
}

/** Resident memory of a process, bytes (VmRSS in /proc/<pid>/status). */
async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) * KiB;
}

interface Settled {
  rss: number;
  waitedMs: number;
  /** False when RSS was still moving at SETTLE.maxMs: the reading is the last sample. */
  settled: boolean;
}

/**
 * RSS once it stops moving: at least SETTLE.minMs (V8 collects the garbage of
 * a burst of upgrades some seconds after it ends, when it sees the process
 * idle), then SETTLE.window one-second samples within SETTLE.toleranceBytes;
 * their median is the reading.
 */
async function settledRss(pid: number): Promise<Settled> {
  const started = Date.now();
  const samples: number[] = [];
  for (;;) {
    samples.push(await rssBytes(pid));
    const waitedMs = Date.now() - started;
    const recent = samples.slice(-SETTLE.window);
    if (waitedMs >= SETTLE.minMs && recent.length === SETTLE.window && Math.max(...recent) - Math.min(...recent) <= SETTLE.toleranceBytes)
      return { rss: median(recent), waitedMs, settled: true };
    if (waitedMs >= SETTLE.maxMs) return { rss: samples.at(-1)!, waitedMs, settled: false };
    await sleep(SETTLE.intervalMs);
  }
}

// ---- the bare server ---------------------------------------------------------

/** Settings of the bare server: the gateway's (gateway/src/server.ts) with the bench's values. */
interface BareSettings {
  maxPayloadLength: number;
  maxBackpressure: number;
  idleTimeout: number;
  sendPingsAutomatically: boolean;
}

const BARE_SETTINGS: BareSettings = {
  maxPayloadLength: WS_MAX_SIZE,
  maxBackpressure: MAX_BACKPRESSURE,
  idleTimeout: IDLE_TIMEOUT_SECONDS,
  sendPingsAutomatically: WS_PING_INTERVAL > 0,
};

/** The child side: a uWS app that accepts every WebSocket and does nothing else; prints its port. */
function runBareServer(settings: BareSettings): void {
  const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof UwsTypes;
  uws
    .App()
    .ws('/*', { ...settings, compression: uws.DISABLED })
    .listen('127.0.0.1', 0, (token) => {
      if (!token) {
        console.error('bare server: cannot listen');
        process.exit(1);
      }
      console.log(JSON.stringify({ port: uws.us_socket_local_port(token) }));
    });
}

interface Server {
  name: string;
  pid: number;
  wsUrl: string;
  stop: () => Promise<void>;
  /** Open connections as the server counts them, when it says. */
  connections?: () => Promise<number>;
}

async function startBareServer(nodeOptions: string[]): Promise<Server> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...nodeOptions, script, BARE_SERVER_FLAG, JSON.stringify(BARE_SETTINGS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
      child.once('error', reject);
      void exited.then(() => reject(new Error(`bare server exited (${String(child.exitCode ?? child.signalCode)}) before listening`)));
    });
    return { name: 'bare uWS', pid: child.pid!, wsUrl: `ws://127.0.0.1:${port}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---- client processes ----------------------------------------------------------

type ToClient = { type: 'connect'; url: string; count: number; headers: Record<string, string> } | { type: 'status' } | { type: 'close' };
type FromClient =
  { type: 'connected'; opened: number; failed: number; firstError: string | null } | { type: 'status'; open: number } | { type: 'closed' };

/** One upgrade: resolves with the open socket, rejects with why it did not open. */
function openOne(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, handshakeTimeout: 30_000 });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      reject(new Error(`upgrade answered ${res.statusCode}`));
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed (${code}) before it opened`)));
  });
}

/** The child side: opens connections when told, holds them silently, closes them when told. */
function runClient(): void {
  let sockets: WebSocket[] = [];
  const send = (m: FromClient) => process.send!(m);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToClient) => {
    if (m.type === 'connect') {
      let started = 0;
      let failed = 0;
      let firstError: string | null = null;
      const opener = async () => {
        while (started < m.count) {
          started++;
          try {
            const ws = await openOne(m.url, m.headers);
            ws.on('error', () => {}); // a socket that fails later shows in `status`
            sockets.push(ws);
          } catch (err) {
            failed++;
            firstError ??= (err as Error).message;
          }
        }
      };
      void Promise.all(Array.from({ length: Math.min(CLIENT_CONCURRENCY, m.count) }, opener)).then(() =>
        send({ type: 'connected', opened: sockets.length, failed, firstError }),
      );
    } else if (m.type === 'status') {
      send({ type: 'status', open: sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length });
    } else {
      const closing = sockets.map(
        (ws) => new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve()))),
      );
      for (const ws of sockets) ws.terminate();
      sockets = [];
      void Promise.all(closing).then(() => send({ type: 'closed' }));
    }
  });
}

/** Client processes, asked one question at a time. */
class Clients {
  private constructor(private readonly children: ChildProcess[]) {}

  static start(count: number): Clients {
    const script = fileURLToPath(import.meta.url);
    return new Clients(
      Array.from({ length: count }, () => fork(script, [CLIENT_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })),
    );
  }

  get size(): number {
    return this.children.length;
  }

  /** Sends each client its message and waits for every answer of the type asked for. */
  private async ask<T extends FromClient['type']>(
    messages: (i: number) => ToClient,
    answer: T,
  ): Promise<Extract<FromClient, { type: T }>[]> {
    return Promise.all(
      this.children.map(
        (child, i) =>
          new Promise<Extract<FromClient, { type: T }>>((resolve, reject) => {
            const onMessage = (m: FromClient) => {
              if (m.type !== answer) return;
              child.off('message', onMessage);
              child.off('exit', onExit);
              resolve(m as Extract<FromClient, { type: T }>);
            };
            const onExit = () => reject(new Error(`client process ${i} exited`));
            child.on('message', onMessage);
            child.once('exit', onExit);
            child.send(messages(i));
          }),
      ),
    );
  }

  /** Opens `total` connections, spread over the clients; `headers(i)` are client i's upgrade headers. */
  async connect(url: string, total: number, headers: (i: number) => Record<string, string>) {
    const share = (i: number) => Math.floor(total / this.size) + (i < total % this.size ? 1 : 0);
    const answers = await this.ask((i) => ({ type: 'connect', url, count: share(i), headers: headers(i) }), 'connected');
    return {
      opened: answers.reduce((n, a) => n + a.opened, 0),
      failed: answers.reduce((n, a) => n + a.failed, 0),
      firstError: answers.find((a) => a.firstError !== null)?.firstError ?? null,
    };
  }

  async open(): Promise<number> {
    return (await this.ask(() => ({ type: 'status' }), 'status')).reduce((n, a) => n + a.open, 0);
  }

  async closeAll(): Promise<void> {
    await this.ask(() => ({ type: 'close' }), 'closed');
  }

  stop(): void {
    for (const child of this.children) if (child.connected) child.disconnect();
  }
}

// ---- one measurement -------------------------------------------------------------

interface Measurement {
  name: string;
  baseline: Settled;
  loaded: Settled;
  /** Connections still open (as the clients see them) when the loaded reading was taken. */
  open: number;
  failed: number;
  bytesPerConnection: number;
}

async function measure(server: Server, clients: Clients, connections: number, headers: (i: number) => Record<string, string>) {
  const log = (line: string) => console.log(`${server.name.padEnd(8)}  ${line}`);
  const warmUp = Math.min(WARM_UP_CONNECTIONS, connections);
  const warm = await clients.connect(server.wsUrl, warmUp, headers);
  if (warm.failed > 0) throw new Error(`${server.name}: ${warm.failed} of ${warmUp} warm-up connections failed: ${warm.firstError}`);
  await clients.closeAll();
  const baseline = await settledRss(server.pid);
  log(`baseline RSS ${fmtMiB(baseline.rss)} (after ${warmUp} warm-up connections, settled in ${fmtSeconds(baseline)})`);
  const started = performance.now();
  const { failed, firstError } = await clients.connect(server.wsUrl, connections, headers);
  const seconds = (performance.now() - started) / 1000;
  log(
    `${connections - failed} of ${connections} connections opened in ${seconds.toFixed(1)} s${failed > 0 ? `; first failure: ${firstError}` : ''}`,
  );
  const loaded = await settledRss(server.pid);
  const open = await clients.open();
  const counted = server.connections ? `, ${await server.connections()} as the server counts them` : '';
  const bytesPerConnection = open > 0 ? (loaded.rss - baseline.rss) / open : NaN;
  log(`RSS ${fmtMiB(loaded.rss)} with ${open} open${counted} (settled in ${fmtSeconds(loaded)})`);
  log(`${fmtBytes(bytesPerConnection)} per connection`);
  await clients.closeAll();
  return { name: server.name, baseline, loaded, open, failed, bytesPerConnection } satisfies Measurement;
}

const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const fmtBytes = (bytes: number) => `${Math.round(bytes)} B (${(bytes / KiB).toFixed(2)} KiB)`;
const fmtSeconds = (s: Settled) => `${(s.waitedMs / 1000).toFixed(0)} s${s.settled ? '' : ', NOT settled: still moving'}`;

// ---- main ------------------------------------------------------------------------

async function main(cleanup: Cleanup): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const needed = options.connections + FD_MARGIN;
  const rerun = await ensureOpenFiles(needed);
  if (rerun !== null) {
    process.exitCode = rerun;
    return;
  }
  await checkPortRange(options.connections);

  const results = { bare: [] as Measurement[], gateway: [] as Measurement[] };
  const clients = Clients.start(options.clients);
  cleanup.add('stop the client processes', async () => clients.stop());
  // one key per client process, each client process within MAX_CONNECTIONS_PER_CLIENT
  const keys = Array.from({ length: clients.size }, () => randomBytes(16).toString('hex'));
  const auth = (i: number) => ({ authorization: `Bearer ${keys[i]!}` });
  const perClient = Math.ceil(options.connections / clients.size);
  const nodeOptions = options.semiSpaceMb > 0 ? [`--max-semi-space-size=${options.semiSpaceMb}`] : [];
  const { soft } = await openFilesLimit('self');
  console.log(
    `idle connections: ${options.connections} from ${clients.size} client processes, ${CLIENT_CONCURRENCY} upgrades in flight each; ` +
      `open-files limit ${soft}; ${options.runs} run(s)`,
  );
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, servers with ${nodeOptions.join(' ') || "V8's default young generation"}; ` +
      `WS settings of both: maxPayloadLength ${WS_MAX_SIZE}, maxBackpressure ${MAX_BACKPRESSURE}, idleTimeout ${IDLE_TIMEOUT_SECONDS} s, ` +
      'pings on, compression off',
  );
  const { stack: stackHelpers } = await loadTestHelpers();

  for (let run = 1; run <= options.runs; run++) {
    const label = (name: string) => (options.runs > 1 ? `${name} #${run}` : name);
    const bareServer = { ...(await startBareServer(nodeOptions)), name: label('bare uWS') };
    cleanup.add('stop the bare server', bareServer.stop);
    results.bare.push(await measure(bareServer, clients, options.connections, auth));
    await bareServer.stop();

    const stack = await stackHelpers.startStack({
      workers: 0,
      env: {
        API_KEYS: keys.join(','),
        MAX_CONNECTIONS_PER_CLIENT: String(perClient),
        WS_MAX_SIZE: String(WS_MAX_SIZE),
        WS_PING_INTERVAL: String(WS_PING_INTERVAL),
        WS_PING_TIMEOUT: String(WS_PING_TIMEOUT),
        // the stack's default is debug; a benchmark measures the normal level
        LOG_LEVEL: 'info',
        NODE_OPTIONS: nodeOptions.join(' '),
      },
    });
    let stopping: Promise<void> | null = null;
    const stopStack = () => (stopping ??= stack.stop());
    cleanup.add('stop the gateway and delete its queues', stopStack);
    const gatewayLimit = await openFilesLimit(stack.gateway.pid);
    if (gatewayLimit.soft < needed) throw new Error(`the gateway's open-files limit is ${gatewayLimit.soft}, below the ${needed} needed`);
    const gatewayServer: Server = {
      name: label('gateway'),
      pid: stack.gateway.pid,
      wsUrl: stack.wsUrl,
      stop: stopStack,
      connections: async () => ((await (await fetch(stack.healthUrl)).json()) as { connections: number }).connections,
    };
    results.gateway.push(await measure(gatewayServer, clients, options.connections, auth));
    await stopStack();
  }

  const perConnection = (side: Measurement[]) => median(side.map((m) => m.bytesPerConnection));
  const bare = perConnection(results.bare);
  const gateway = perConnection(results.gateway);
  const ratio = gateway / bare;
  const of = options.runs > 1 ? ` (median of ${options.runs} runs)` : '';
  console.log(`bare uWS  ${fmtBytes(bare)} per idle connection${of}`);
  console.log(`gateway   ${fmtBytes(gateway)} per idle connection${of} (target ≤ 1200 B)`);
  console.log(`ratio gateway/bare = ${ratio.toFixed(2)} (target ≤ 2)`);
  const all = [...results.bare, ...results.gateway];
  const unsettled = all.flatMap((m) => (m.baseline.settled && m.loaded.settled ? [] : [m.name]));
  const short = all.flatMap((m) => (m.open < options.connections ? [`${m.name} held ${m.open}`] : []));
  if (unsettled.length > 0) console.log(`warning: RSS had not settled for ${unsettled.join(', ')}; the figures are rough`);
  if (short.length > 0) console.log(`warning: fewer connections than asked: ${short.join(', ')}`);
  if (options.json) {
    const notes = [
      `${options.connections} idle authenticated connections from ${options.clients} client processes`,
      'VmRSS settled after start-up (and a warm-up) vs settled with the connections open',
      options.semiSpaceMb > 0 ? `both servers with --max-semi-space-size=${options.semiSpaceMb}` : "V8's default young generation",
      ...(options.runs > 1 ? [`median of ${options.runs} runs`] : []),
      `node ${process.version}`,
      ...(unsettled.length > 0 ? [`RSS not settled: ${unsettled.join(', ')}`] : []),
      ...short,
    ].join('; ');
    const line = {
      name: 'idle-connections',
      service: Math.round(gateway),
      reference: Math.round(bare),
      ratio: Number(ratio.toFixed(2)),
      unit: 'bytes/connection',
      target: '≤ 2× and ≤ 1200 B',
      notes,
    };
    console.log(`BENCH_RESULT ${JSON.stringify(line)}`);
  }
}

if (process.argv[2] === BARE_SERVER_FLAG) {
  runBareServer(JSON.parse(process.argv[3]!) as BareSettings);
} else if (process.argv[2] === CLIENT_FLAG) {
  runClient();
} else {
  runMain(main);
}
