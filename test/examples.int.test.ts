/**
 * The quick start's examples (examples/*.mjs), run as a newcomer runs them —
 * `node examples/…` against a real gateway and worker — with their saved
 * outputs checked by ffprobe. What the README promises is what this runs.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { SINGLE_FRAME_MAX_BYTES } from '@media-foundry/shared';
import { ffprobe } from './helpers/media.js';
import { ROOT } from './helpers/paths.js';
import { useSuite } from './helpers/suite.js';

const { dir, stack } = useSuite({
  name: 'examples',
  files: false,
  // the URL example serves its file on 127.0.0.1, which the worker reaches only when allow-listed (as its header says)
  stack: { env: { URL_ALLOWLIST: '127.0.0.1' } },
  client: false,
});

/** Runs an example script as a user would, pointed at the test stack. */
function example(script: string, args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [join(ROOT, 'examples', script), ...args], {
    cwd: dir,
    env: { MEDIA_FOUNDRY_URL: stack.wsUrl, ...env },
    timeout: 240_000,
    reject: false,
  });
}

/** Runs an example that saves its outputs under `outName` in the test dir: it succeeds, with nothing on stderr. */
async function exampleSucceeds(script: string, outName: string) {
  const out = join(dir, outName);
  const run = await example(script, [out]);
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
  return { out, run };
}

describe('examples/upload.mjs', () => {
  it('uploads a lavfi-made file and saves every output, the chunked one whole', async () => {
    const { out, run } = await exampleSucceeds('upload.mjs', 'upload-out');
    expect(run.stdout).toMatch(/made .*input\.mp4 with ffmpeg lavfi/);

    expect((await readdir(join(out, 'thumbs'))).sort()).toEqual(['thumbnail_001.jpeg', 'thumbnail_002.jpeg', 'thumbnail_003.jpeg']);
    for (const name of await readdir(join(out, 'thumbs'))) {
      const image = await ffprobe(join(out, 'thumbs', name));
      expect(image.video).toMatchObject({ codec_name: 'mjpeg', width: 320 });
    }

    const [gifName] = await readdir(join(out, 'gif'));
    const gif = await ffprobe(join(out, 'gif', gifName!));
    expect(gif.video).toMatchObject({ codec_name: 'gif', width: 240 });

    const [wavName] = await readdir(join(out, 'audio'));
    const wav = join(out, 'audio', wavName!);
    // over the single-frame limit: it came back in chunks, and all of them were written in place
    expect((await stat(wav)).size).toBeGreaterThan(SINGLE_FRAME_MAX_BYTES);
    expect(run.stdout).toContain(`saved ${wav}`);
    expect(run.stdout).toMatch(/audio: saved .* bytes, in chunks\)/);
    const audio = await ffprobe(wav);
    expect(audio.audio).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: '48000' });
    expect(Math.abs(audio.duration - 120)).toBeLessThan(1);
  });
});

describe('examples/url-input.mjs', () => {
  it('has the worker fetch a file served on loopback, allowed by URL_ALLOWLIST', async () => {
    const { out, run } = await exampleSucceeds('url-input.mjs', 'url-out');
    const png = join(out, 'url-thumb', 'thumbnail.png');
    expect((await ffprobe(png)).video).toMatchObject({ codec_name: 'png', width: 640, height: 360 });
    expect(run.stdout).toMatch(/probe: \{"format":"mp4","duration":10,.*"width":640,"height":360/);
  });

  it('is refused with VALIDATION_ERROR before anything runs when URL_ALLOWLIST does not name 127.0.0.1, as its header says', async () => {
    const strict = await stack.addGateway({ URL_ALLOWLIST: '' });
    const run = await example('url-input.mjs', [join(dir, 'refused-out')], { MEDIA_FOUNDRY_URL: strict.wsUrl });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(
      /url-thumb: VALIDATION_ERROR: .*input\.url: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a private or reserved address/,
    );
    expect(run.stdout).not.toMatch(/accepted/);
  });
});
