/**
 * `.env` in the repository root is read by `npm start` and by `npm run
 * start:gateway` / `start:worker` (scripts/load-env.js), with the real
 * environment winning; a missing file is no error. The loader finds the file
 * next to its own directory, so the test runs a copy of scripts/ beside a
 * .env of its own instead of writing one into the repository.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useTempDir } from '@media-foundry/test-support';
import { ROOT } from './helpers/paths.js';

const run = promisify(execFile);
const dir = useTempDir('env-file-', 'test');

beforeEach(async () => {
  await mkdir(join(dir(), 'scripts'));
  await copyFile(join(ROOT, 'scripts', 'load-env.js'), join(dir(), 'scripts', 'load-env.js'));
  await writeFile(join(dir(), 'package.json'), '{"type":"module"}');
});

/** What a process preloaded with the loader sees of `names`. */
async function seen(names: string[], env: Record<string, string> = {}): Promise<Record<string, string | undefined>> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      join(dir(), 'scripts', 'load-env.js'),
      '-e',
      `console.log(JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n]]))))`,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
  );
  return JSON.parse(stdout) as Record<string, string | undefined>;
}

describe('.env', () => {
  it('is loaded when present, and the environment wins over it', async () => {
    await writeFile(join(dir(), '.env'), '# a comment\nWS_PORT=9123\nQUEUE_PREFIX=from-file\nURL_ALLOWLIST="127.0.0.1, localhost"\n');
    expect(await seen(['WS_PORT', 'QUEUE_PREFIX', 'URL_ALLOWLIST'], { QUEUE_PREFIX: 'from-env' })).toEqual({
      WS_PORT: '9123',
      QUEUE_PREFIX: 'from-env',
      URL_ALLOWLIST: '127.0.0.1, localhost',
    });
  });

  it('is no error when missing', async () => {
    expect(await seen(['WS_PORT'])).toEqual({});
  });

  it('configures the service itself: a bad value in it stops the gateway naming the variable', async () => {
    await writeFile(join(dir(), '.env'), 'WS_PORT=not-a-port\n');
    const failed = await run(
      process.execPath,
      ['--import', join(dir(), 'scripts', 'load-env.js'), join(ROOT, 'gateway', 'dist', 'main.js')],
      {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
    ).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).not.toBe(0);
    expect(`${failed?.stdout}${failed?.stderr}`).toMatch(/WS_PORT/);
  });

  it('.env.example, copied to .env, is accepted as it is', async () => {
    await copyFile(join(ROOT, '.env.example'), join(dir(), '.env'));
    expect(await seen(['WS_PORT', 'PUBLIC_BASE_URL'])).toEqual({ WS_PORT: '8080', PUBLIC_BASE_URL: '' });
  });

  it('is what npm start and npm run start:gateway / start:worker read', async () => {
    const scripts = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['start:gateway']).toBe('node --import ./scripts/load-env.js gateway/dist/main.js');
    expect(scripts['start:worker']).toBe('node --import ./scripts/load-env.js worker/dist/main.js');
    expect(scripts.start).toBe('node scripts/start-all.js');
    expect(await readFile(join(ROOT, 'scripts', 'start-all.js'), 'utf8')).toMatch(/^import '\.\/load-env\.js';$/m);
  });
});
