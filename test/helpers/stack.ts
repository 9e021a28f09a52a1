import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { execa } from 'execa';
import amqplib from 'amqplib';
import { topology } from '@media-foundry/shared';
import { ROOT } from './paths.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A real gateway or worker process, with its JSON log lines. */
export class ServiceProcess {
  readonly logs: Record<string, unknown>[] = [];
  stderr = '';
  private readonly exited: Promise<unknown>;
  /** Its output read to the end: 'exit' can come before the last lines of stdout are. */
  private readonly closed: Promise<unknown>;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    let pending = '';
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => proc.once('exit', resolve));
    this.closed = new Promise((resolve) => proc.once('close', resolve));
  }

  /** Resolves with the first log line that matches, or rejects when the process exits or time runs out. */
  async waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logs.find(match);
      if (line) return line;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        // a line logged just before the exit may still be in the pipe: read it before saying it never came
        await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
        const last = this.logs.find(match);
        if (last) return last;
        throw new Error(`${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}): ${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: no matching log line within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill9(): void {
    this.proc.kill('SIGKILL');
  }

  async exit(): Promise<unknown> {
    return this.exited;
  }
}

export function spawnService(service: 'gateway' | 'worker', env: Record<string, string>): ServiceProcess {
  const proc = spawn(process.execPath, [join(ROOT, service, 'dist', 'main.js')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ServiceProcess(service, proc);
}

export interface StackOptions {
  workers?: number;
  /** Gateways to start (default 1); more share the queue prefix and storage, as pods behind one Service. */
  gateways?: number;
  /** Extra environment for both services (e.g. S3 settings). */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
}

/** A running gateway and where to reach it. */
export interface GatewayHandle {
  process: ServiceProcess;
  wsUrl: string;
  healthUrl: string;
}

/** Gateways and N workers on a private queue prefix and private directories. */
export interface Stack {
  prefix: string;
  /** The first gateway's addresses and process. */
  wsUrl: string;
  healthUrl: string;
  gateway: ServiceProcess;
  gateways: GatewayHandle[];
  storageDir: string;
  tempDir: string;
  workers: ServiceProcess[];
  env: Record<string, string>;
  addWorker(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  addGateway(extraEnv?: Record<string, string>): Promise<GatewayHandle>;
  stop(): Promise<void>;
}

/**
 * A queue prefix no other suite or test uses (`<label>-<8 hex>`): every stack,
 * and every test that declares a topology of its own, takes one from here, so
 * nothing a test leaves in RabbitMQ can reach another.
 */
export function uniquePrefix(label = 'test'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const prefix = uniquePrefix();
  const dir = await mkdtemp(join(tmpdir(), 'mf-stack-'));
  const storageDir = join(dir, 'storage');
  const tempDir = join(dir, 'tmp');
  const env: Record<string, string> = {
    AMQP_URL,
    QUEUE_PREFIX: prefix,
    WS_HOST: '127.0.0.1',
    WS_PORT: '0',
    HEALTH_PORT: '0',
    STORAGE_DIR: storageDir,
    TEMP_DIR: tempDir,
    LOG_LEVEL: 'debug',
    // the tests' media server runs on loopback, which URL inputs may not reach otherwise
    URL_ALLOWLIST: '127.0.0.1',
    // tests stop gateways often; production keeps a lead time for its load balancer
    SHUTDOWN_LEAD_SECONDS: '0',
    ...options.env,
  };
  const gateways: GatewayHandle[] = [];
  const workers: ServiceProcess[] = [];
  const addWorker = async (extraEnv: Record<string, string> = {}) => {
    const w = spawnService('worker', { ...env, ...options.workerEnv, ...extraEnv });
    workers.push(w);
    await w.waitForLog((l) => l.msg === 'connected to RabbitMQ');
    return w;
  };
  const addGateway = async (extraEnv: Record<string, string> = {}) => {
    const g = spawnService('gateway', { ...env, ...options.gatewayEnv, ...extraEnv });
    const handle = { process: g, wsUrl: '', healthUrl: '' };
    gateways.push(handle);
    const ready = await g.waitForLog((l) => l.msg === 'gateway ready');
    await g.waitForLog((l) => l.msg === 'connected to RabbitMQ');
    handle.wsUrl = `ws://127.0.0.1:${Number(String(ready.ws).split(':').pop())}`;
    handle.healthUrl = `http://127.0.0.1:${String(ready.health_port)}/health`;
    return handle;
  };
  const stopAll = () => Promise.all([...gateways.map((g) => g.process.stop()), ...workers.map((w) => w.stop())]);
  try {
    for (let i = 0; i < (options.gateways ?? 1); i++) await addGateway();
    for (let i = 0; i < (options.workers ?? 1); i++) await addWorker();
    const first = gateways[0]!;
    return {
      prefix,
      wsUrl: first.wsUrl,
      healthUrl: first.healthUrl,
      gateway: first.process,
      gateways,
      storageDir,
      tempDir,
      workers,
      env,
      addWorker,
      addGateway,
      stop: async () => {
        await stopAll();
        await deleteTopology(prefix);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    await deleteTopology(prefix);
    throw err;
  }
}

/** The ffmpeg command lines the workers ran for the job a client submitted as `clientJobId` (the worker logs the gateway's internal id). */
export function ffmpegRuns(stack: Stack, clientJobId: string): string[] {
  const received = stack.gateway.logs.find((l) => l.msg === 'job received' && l.job_id === clientJobId);
  const internal = received?.internal_id;
  expect(internal).toBeDefined();
  return stack.workers
    .flatMap((w) => w.logs)
    .filter((l) => l.msg === 'running ffmpeg' && l.job_id === internal)
    .map((l) => (l.args as string[]).join(' '));
}

/** Removes a test prefix's queues (intake, tenants, gateways, dead letters) and exchanges from RabbitMQ. */
export async function deleteTopology(prefix: string): Promise<void> {
  // the names come from topology(), as the services declare them
  const t = topology(prefix);
  const queues = await listQueues(`${prefix}.`).catch(() => [t.jobsQueue, t.deadLetterQueue]);
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    for (const e of [t.deadLetterExchange, t.controlExchange, t.replyExchange]) await ch.deleteExchange(e);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Names of the queues RabbitMQ has whose name starts with `prefix` (via rabbitmqctl). */
export async function listQueues(prefix: string): Promise<string[]> {
  const { stdout } = await execa('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name']);
  return stdout
    .split('\n')
    .map((line: string) => line.trim())
    .filter((name: string) => name.startsWith(prefix));
}
