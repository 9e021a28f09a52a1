/**
 * The `media-foundry` CLI, run as a child process (the built bin) against
 * the real stack: files to -o, --json events, probe, exit codes, Ctrl-C,
 * and a run inside a pseudo-terminal (util-linux `script`) that draws the
 * progress bar.
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ffprobe, makeTestVideos, video } from './helpers/media.js';
import { ROOT } from './helpers/paths.js';
import { useSuite } from './helpers/suite.js';

const BIN = join(ROOT, 'client', 'bin', 'media-foundry.js');
const { dir, files, stack } = useSuite({
  name: 'cli',
  fixtures: (dir) =>
    Promise.all([
      makeTestVideos(dir, { 'clip.mp4': video(3, '320x240'), 'long.mp4': video(20, '320x240') }),
      writeFile(join(dir, 'not-media.mp4'), Buffer.alloc(64 * 1024, 7)),
    ]),
  client: false,
});

/** The bin with MEDIA_FOUNDRY_URL set (as a user's shell would have it), never failing on a non-zero exit. */
function cli(args: string[]) {
  return execa(process.execPath, [BIN, ...args], {
    reject: false,
    env: { MEDIA_FOUNDRY_URL: stack.wsUrl },
    extendEnv: false,
    timeout: 90_000,
  });
}

it('writes a thumbnail job’s files to -o and prints their paths', async () => {
  const out = await mkdtemp(join(dir, 'thumbs-'));
  const run = await cli(['thumbnail', join(dir, 'clip.mp4'), '--count', '2', '--format', 'jpeg', '--width', '160', '-o', out]);
  expect(run.exitCode).toBe(0);
  const names = (await readdir(out)).sort();
  expect(names).toHaveLength(2);
  expect(run.stdout.split('\n').sort()).toEqual(names.map((n) => join(out, n)));
  expect((await ffprobe(join(out, names[0]!))).video).toMatchObject({ codec_name: 'mjpeg', width: 160, height: 120 });
  // not a terminal: plain lines
  expect(run.stderr).toMatch(/^uploading \d+%/m);
  expect(run.stderr).not.toMatch(/\u001b\[/);
});

it('--json prints one event per line, ending with done', async () => {
  const out = await mkdtemp(join(dir, 'json-'));
  const run = await cli(['thumbnail', join(dir, 'clip.mp4'), '--timestamp', '1', '--json', '-o', out, '--server', stack.wsUrl]);
  expect(run.exitCode).toBe(0);
  const events = run.stdout.split('\n').map((line) => JSON.parse(line) as { type: string; outputs?: { path: string }[] });
  expect(events[0]!.type).toBe('accepted');
  expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['upload', 'progress', 'completed', 'output']));
  expect(events.at(-1)).toMatchObject({ type: 'done', outputs: [{ path: expect.stringMatching(/\.png$/) }] });
});

it('--url inputs with --links print a download link per output', async () => {
  const run = await cli(['thumbnail', '--url', files.url('clip.mp4'), '--timestamp', '1', '--links']);
  expect(run.exitCode).toBe(0);
  const [link] = run.stdout.split('\n');
  expect(link).toMatch(/^http:\/\/.*\/files\//);
  const image = await fetch(link!);
  expect(image.status).toBe(200);
  const path = join(dir, 'linked.png');
  await writeFile(path, Buffer.from(await image.arrayBuffer()));
  expect((await ffprobe(path)).video).toMatchObject({ codec_name: 'png', width: 320 });
});

it('probe prints the metadata', async () => {
  const run = await cli(['probe', join(dir, 'clip.mp4')]);
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ width: 320, height: 240, video_codec: 'h264', audio_codec: 'aac' });
});

it('exits 2 for an option the schema refuses, with the server’s message, before connecting', async () => {
  const run = await execa(process.execPath, [BIN, 'speed', join(dir, 'clip.mp4'), '--speed-factor', '50', '--server', 'ws://127.0.0.1:9'], {
    reject: false,
  });
  expect(run.exitCode).toBe(2);
  expect(run.stderr).toContain('options.speed_factor: Too big: expected number to be <=10');
  const unknown = await cli(['thumbnail', join(dir, 'clip.mp4'), '--colour', 'red']);
  expect(unknown.exitCode).toBe(2);
  expect(unknown.stderr).toContain("unknown option '--colour'");
});

it('exits 3 when the job fails, 4 without a server', async () => {
  const failed = await cli(['thumbnail', join(dir, 'not-media.mp4'), '-o', dir]);
  expect(failed.exitCode).toBe(3);
  expect(failed.stderr).toMatch(/JOB_FAILED/);
  const failedJson = await cli(['thumbnail', join(dir, 'not-media.mp4'), '-o', dir, '--json']);
  expect(failedJson.exitCode).toBe(3);
  expect(JSON.parse(failedJson.stdout.split('\n').at(-1)!)).toMatchObject({ type: 'failed', error: { code: 'JOB_FAILED' } });
  const down = await execa(process.execPath, [BIN, 'probe', join(dir, 'clip.mp4'), '--server', 'ws://127.0.0.1:9'], { reject: false });
  expect(down.exitCode).toBe(4);
  expect(down.stderr).toMatch(/CONNECTION_FAILED/);
});

it('--help lists every operation and its options from the schemas', async () => {
  const run = await cli(['--help']);
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/^ {2}speed +--speed-factor --maintain-pitch$/m);
  expect(run.stdout).toMatch(/^ {2}thumbnail +--timestamp --count --format --width --height$/m);
  const speed = await cli(['speed', '--help']);
  expect(speed.stdout).toMatch(/--speed-factor <value> +number 0\.25–10, required/);
});

it('Ctrl-C cancels the job on the server', async () => {
  const child = execa(process.execPath, [BIN, 'speed', join(dir, 'long.mp4'), '--speed-factor', '0.5', '-o', dir], {
    reject: false,
    env: { MEDIA_FOUNDRY_URL: stack.wsUrl },
    extendEnv: false,
  });
  let stderr = '';
  await new Promise<void>((resolve) =>
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/^(queued|downloading|probing|processing)/m.test(stderr)) resolve();
    }),
  );
  child.kill('SIGINT');
  const run = await child;
  expect(run.exitCode).toBe(130);
  expect(run.stderr).toMatch(/cancelled$/m);
  await stack.gateway.waitForLog((l) => typeof l.msg === 'string' && /cancel/i.test(l.msg));
});

it('draws a progress bar in a terminal', async () => {
  const out = await mkdtemp(join(dir, 'tty-'));
  // a run of a second or more (a fast machine sped up the 3 s clip ×2 before any progress of its processing came)
  const command = [process.execPath, BIN, 'speed', join(dir, 'long.mp4'), '--speed-factor', '0.5', '-o', out, '--server', stack.wsUrl]
    .map((a) => `'${a}'`)
    .join(' ');
  // `script` runs the command in a pseudo-terminal and copies what it draws to our stdout
  const run = await execa('script', ['-q', '-e', '-c', command, '/dev/null'], { reject: false, timeout: 90_000 });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toMatch(/processing \|[█░]+\| \d+%/);
  expect(run.stdout).toMatch(/\| 100%/);
  expect(run.stdout).toContain('ETA');
  expect(await readdir(out)).toHaveLength(1);
});
