/**
 * The set-up most integration suites share, once: a private temp dir with the
 * suite's fixtures, a file server over it, an optional s3rver, a stack (its
 * own queue prefix and directories) and a client, started in `beforeAll` (the
 * client in `beforeEach` unless asked otherwise) and torn down in reverse
 * order. Called at the top of a file, or inside a `describe` for a stack of
 * that block's own.
 *
 *   const { dir, files, stack, client } = useSuite({
 *     name: 'ops',
 *     fixtures: (dir) => makeTestVideo(join(dir, 'clip.mp4'), { seconds: 3 }),
 *     stack: { workerEnv: { FFMPEG_THREADS: '1' } },
 *   });
 *
 * `files`, `s3`, `stack` and `client` stand for objects that exist only once
 * the hooks have run, so the tests keep writing `stack.wsUrl` as they would
 * with a variable of their own.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFileServer, type FileServer } from './file-server.js';
import { startTestS3, type TestS3 } from './s3.js';
import { startStack, type Stack, type StackOptions } from './stack.js';
import { TestClient } from './ws-client.js';

export interface SuiteOptions {
  /** Names the temp dir (`mf-<name>-…`); without it (and without fixtures) there is none. */
  name?: string;
  /** Writes the suite's input files into its dir, before the file server starts. */
  fixtures?: (dir: string) => Promise<unknown>;
  /** Serves the dir over HTTP as `files` (default: when there is a dir). */
  files?: boolean;
  /** Starts an s3rver as `s3`; the stack gets its env. */
  s3?: boolean;
  /** The stack's options (a function of the dir and s3 when they are needed), or false for no stack. */
  stack?: StackOptions | ((suite: { dir: string; s3: TestS3 | undefined }) => StackOptions | Promise<StackOptions>) | false;
  /** A TestClient on the stack's first gateway: a fresh one for each test (default), one for the whole suite, or none. */
  client?: 'each' | 'all' | false;
  /** For the set-up hook (big fixtures); Jest's default otherwise. */
  timeoutMs?: number;
}

export interface Suite {
  /** The suite's temp dir ('' when it has none). */
  dir: string;
  files: FileServer;
  s3: TestS3;
  stack: Stack;
  client: TestClient;
}

export function useSuite(options: SuiteOptions = {}): Suite {
  const dir =
    options.name !== undefined || options.fixtures ? join(tmpdir(), `mf-${options.name ?? 'suite'}-${randomBytes(4).toString('hex')}`) : '';
  const serve = options.files ?? dir !== '';
  const clientWhen = options.client ?? 'each';
  const stackOptions = options.stack ?? {};
  let files: FileServer | undefined;
  let s3: TestS3 | undefined;
  let stack: Stack | undefined;
  let client: TestClient | undefined;

  beforeAll(async () => {
    if (dir) await mkdir(dir, { recursive: true });
    await options.fixtures?.(dir);
    if (serve) files = await startFileServer(dir);
    if (options.s3) s3 = await startTestS3();
    if (stackOptions !== false) {
      const resolved = typeof stackOptions === 'function' ? await stackOptions({ dir, s3 }) : stackOptions;
      stack = await startStack(s3 ? { ...resolved, env: { ...s3.env, ...resolved.env } } : resolved);
      if (clientWhen === 'all') client = await TestClient.connect(stack.wsUrl);
    }
  }, options.timeoutMs);
  afterAll(async () => {
    await client?.close();
    await stack?.stop();
    // a test may have closed the store already (its going away is what some tests check)
    await s3?.close().catch(() => {});
    await files?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  if (clientWhen === 'each' && stackOptions !== false) {
    beforeEach(async () => {
      client = await TestClient.connect(stack!.wsUrl);
    });
    afterEach(async () => {
      await client?.close();
    });
  }

  return {
    dir,
    files: late('files', () => files),
    s3: late('s3', () => s3),
    stack: late('stack', () => stack),
    client: late('client', () => client),
  };
}

/**
 * Stands for the object `current()` returns when a property is read: what
 * the hooks above start does not exist when the test file is loaded. Methods
 * are bound to the object itself.
 */
export function late<T extends object>(name: string, current: () => T | undefined): T {
  const target = (): T => {
    const value = current();
    if (value === undefined) throw new Error(`the suite's ${name} is not set up (read outside a test or hook, or not asked for)`);
    return value;
  };
  return new Proxy({} as T, {
    get(_, key) {
      const object = target();
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
    set(_, key, value) {
      return Reflect.set(target(), key, value);
    },
    has: (_, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor(_, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}
