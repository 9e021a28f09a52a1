import { randomBytes } from 'node:crypto';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { execa } from 'execa';

/**
 * A private RabbitMQ node for tests that stop and start the broker, so they
 * do not disturb the shared one the other suites use. Started from the same
 * rabbitmq-server installation, on free ports, with its own data directory.
 */
export interface PrivateRabbit {
  url: string;
  node: string;
  /** The management API's base URL with credentials (http://guest:guest@127.0.0.1:<port>), when started with `management`. */
  managementUrl: string | null;
  /** Runs `rabbitmqctl -n <node> ...args` on this node (never the shared one) and returns its output. */
  ctl(...args: string[]): Promise<string>;
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP port nobody listens on now (for services that must be told their port in advance). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`RabbitMQ did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface PrivateRabbitOptions {
  /**
   * Enables the management plugin on a free port, its statistics refreshed
   * every second (5 s by default), for tests of what KEDA reads from it.
   */
  management?: boolean;
}

export async function startPrivateRabbit(options: PrivateRabbitOptions = {}): Promise<PrivateRabbit> {
  const dir = await mkdtemp(join(tmpdir(), 'mf-rabbit-'));
  await mkdir(join(dir, 'log'));
  const managementPort = options.management ? await freePort() : null;
  await writeFile(join(dir, 'enabled_plugins'), managementPort ? '[rabbitmq_management].' : '[].');
  await writeFile(
    join(dir, 'rabbitmq.conf'),
    managementPort ? `management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = ${managementPort}\ncollect_statistics_interval = 1000\n` : '',
  );
  // the Debian wrapper runs the broker as the rabbitmq user
  const { stdout: ids } = await execa('id', ['-u', 'rabbitmq'], { reject: false });
  const { stdout: gids } = await execa('id', ['-g', 'rabbitmq'], { reject: false });
  if (ids && gids)
    for (const p of [dir, join(dir, 'log'), join(dir, 'enabled_plugins'), join(dir, 'rabbitmq.conf')])
      await chown(p, Number(ids), Number(gids));
  const [port, distPort] = [await freePort(), await freePort()];
  const node = `mftest-${randomBytes(3).toString('hex')}@localhost`;
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
  };
  const proc = spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true });
  await waitForPort(port, 60_000);
  const ctl = (...args: string[]) => execa('rabbitmqctl', ['-n', node, ...args]).then((r) => r.stdout);
  await ctl('await_startup');
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    managementUrl: managementPort ? `http://guest:guest@127.0.0.1:${managementPort}` : null,
    ctl,
    stopApp: () => ctl('stop_app').then(() => undefined),
    startApp: () => ctl('start_app').then(() => undefined),
    close: async () => {
      const exited = new Promise((resolve) => (proc.exitCode !== null ? resolve(null) : proc.once('exit', resolve)));
      // The node and its data are thrown away: halting the VM takes a second where a graceful `stop` takes
      // several (with the management plugin). rabbitmqctl reports the node gone mid-call, which is the point.
      await execa('rabbitmqctl', ['-n', node, 'eval', 'erlang:halt().'], { reject: false });
      // wait for the server's own process too, so no test run ends with it alive
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
