/**
 * Every example request of the service spec (docs/service-spec.md, "Operation
 * Examples"), sent verbatim — only `input.url` points at a local test file —
 * must complete with the right files; and the spec's Python client flow (ack,
 * progress…, completed, then one binary frame `{job_id, filename}`) holds.
 *
 * The trim example cuts 10–30 s and the gif example starts at 5 s for 10 s, so
 * the input is a 32 s 320x240 clip; the thumbnail example's `width: 640` and
 * the gif's `width: 480` are then upscales, which the service performs.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffprobe, makeTestVideo } from './helpers/media.js';
import { ROOT } from './helpers/paths.js';
import { useSuite } from './helpers/suite.js';

/** The requests exactly as the spec prints them (checked against the spec below). */
const SPEC_EXAMPLES = [
  {
    type: 'start_job',
    job_id: 'job-001',
    operation: 'speed',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { speed_factor: 2.0, maintain_pitch: false },
  },
  {
    type: 'start_job',
    job_id: 'job-002',
    operation: 'compress',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { preset: 'low', max_width: 1280, max_height: 720 },
  },
  {
    type: 'start_job',
    job_id: 'job-003',
    operation: 'extract_audio',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { format: 'mp3', bitrate_kbps: 192, sample_rate: 44100 },
  },
  {
    type: 'start_job',
    job_id: 'job-004',
    operation: 'remove_audio',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { keep_video_quality: true },
  },
  {
    type: 'start_job',
    job_id: 'job-005',
    operation: 'convert',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { target_format: 'mkv', stream_copy: true },
  },
  {
    type: 'start_job',
    job_id: 'job-006',
    operation: 'thumbnail',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { timestamp: 5.0, format: 'png', width: 640 },
  },
  {
    type: 'start_job',
    job_id: 'job-007',
    operation: 'thumbnail',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { count: 3, format: 'jpeg', width: 320, height: 180 },
  },
  {
    type: 'start_job',
    job_id: 'job-008',
    operation: 'trim',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { start_time: 10.0, end_time: 30.0 },
  },
  {
    type: 'start_job',
    job_id: 'job-009',
    operation: 'gif',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: { start_time: 5.0, duration: 10.0, fps: 15, width: 480, optimize: true },
  },
  {
    type: 'start_job',
    job_id: 'job-010',
    operation: 'filter',
    input: { source: 'url', url: 'https://example.com/video.mp4' },
    options: {
      filters: [
        { type: 'scale', width: 1280, height: 720 },
        { type: 'volume', volume: 1.5 },
        { type: 'fps', fps: 30 },
      ],
    },
  },
] as const;

type Example = (typeof SPEC_EXAMPLES)[number];
type Metadata = Record<string, unknown>;

/** What each example must produce: its files, and what the first one's metadata and probe say. */
const EXPECTED: Record<Example['job_id'], { files: string[]; metadata: Metadata; duration?: number }> = {
  // 32 s at 2x
  'job-001': {
    files: ['output.mp4'],
    metadata: { format: 'mp4', video_codec: 'h264', audio_codec: 'aac', width: 320, height: 240 },
    duration: 16,
  },
  // the 1280x720 box is larger than the input: kept at its size
  'job-002': {
    files: ['output.mp4'],
    metadata: { format: 'mp4', video_codec: 'h264', audio_codec: 'aac', width: 320, height: 240 },
    duration: 32,
  },
  'job-003': { files: ['output.mp3'], metadata: { format: 'mp3', video_codec: null, audio_codec: 'mp3' }, duration: 32 },
  'job-004': { files: ['output.mp4'], metadata: { format: 'mp4', video_codec: 'h264', audio_codec: null }, duration: 32 },
  'job-005': { files: ['output.mkv'], metadata: { format: 'mkv', video_codec: 'h264', audio_codec: 'aac' }, duration: 32 },
  // width 640 of a 320x240 input: upscaled to 640x480 (aspect kept)
  'job-006': { files: ['thumbnail.png'], metadata: { video_codec: 'png', width: 640, height: 480 } },
  // both sides given: exactly 320x180
  'job-007': {
    files: ['thumbnail_001.jpeg', 'thumbnail_002.jpeg', 'thumbnail_003.jpeg'],
    metadata: { video_codec: 'mjpeg', width: 320, height: 180 },
  },
  'job-008': { files: ['output.mp4'], metadata: { format: 'mp4', video_codec: 'h264', audio_codec: 'aac' }, duration: 20 },
  // width 480 of a 320x240 input: upscaled to 480x360
  'job-009': { files: ['output.gif'], metadata: { format: 'gif', video_codec: 'gif', width: 480, height: 360 }, duration: 10 },
  'job-010': {
    files: ['output.mp4'],
    metadata: { format: 'mp4', video_codec: 'h264', audio_codec: 'aac', width: 1280, height: 720, fps: 30 },
    duration: 32,
  },
};

/** The JSON request blocks of the spec's "Operation Examples" section, parsed. */
async function specExampleBlocks(): Promise<unknown[]> {
  const spec = await readFile(join(ROOT, 'docs', 'service-spec.md'), 'utf8');
  const section = spec.slice(spec.indexOf('## Operation Examples'), spec.indexOf('## Client Example'));
  return [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown);
}

const { dir, files, client } = useSuite({
  name: 'spec',
  fixtures: (dir) => makeTestVideo(join(dir, 'video.mp4'), { seconds: 32, width: 320, height: 240 }),
});

/** The example with only `input.url` changed. */
function local(example: Example) {
  return { ...example, input: { ...example.input, url: files.url('video.mp4') } };
}

it('copies every request example of the spec verbatim', async () => {
  expect(await specExampleBlocks()).toEqual(SPEC_EXAMPLES);
});

describe.each(SPEC_EXAMPLES.map((e) => [`${e.job_id} ${e.operation}`, e] as const))('spec example %s', (_, example) => {
  it('completes with the right files', async () => {
    const expected = EXPECTED[example.job_id];
    client.send(local(example));
    const { final, files: out } = await client.result(example.job_id);
    expect(final).toMatchObject({ type: 'completed', delivery_method: 'binary', output_metadata: expected.metadata });
    expect((final.outputs as { filename: string }[]).map((o) => o.filename)).toEqual(expected.files);
    expect([...out.keys()]).toEqual(expected.files);
    if (expected.duration !== undefined) {
      const path = join(dir, `${example.job_id}-${expected.files[0]}`);
      await writeFile(path, out.get(expected.files[0]!)!);
      expect(Math.abs((await ffprobe(path)).duration - expected.duration)).toBeLessThan(0.15);
    }
  });
});

it("follows the spec's Python client flow: ack, progress…, completed, then one binary frame {job_id, filename}", async () => {
  const jobId = randomUUID();
  // the Python example's message, with uuid4() as job_id
  client.send({
    type: 'start_job',
    job_id: jobId,
    operation: 'speed',
    input: { source: 'url', url: files.url('video.mp4') },
    options: { speed_factor: 2.0, maintain_pitch: false },
  });
  const { items, final } = await client.result(jobId);
  // give any stray extra frame time to arrive
  await new Promise((r) => setTimeout(r, 300));
  const all = client.received.filter((r) => (r.kind === 'json' ? r.data.job_id === jobId : r.header.job_id === jobId));
  expect(all.length).toBe(items.length);

  const kinds = all.map((r) => (r.kind === 'json' ? r.data.type : 'binary'));
  expect(kinds[0]).toBe('ack');
  expect(kinds.slice(1, -2).every((k) => k === 'progress')).toBe(true);
  expect(kinds.slice(1, -2).length).toBeGreaterThan(0);
  expect(kinds.slice(-2)).toEqual(['completed', 'binary']);

  // the fields the Python client reads
  const [ack] = client.messages(jobId);
  expect(typeof ack?.message).toBe('string');
  for (const p of client.messages(jobId).filter((m) => m.type === 'progress')) {
    expect(typeof p.percentage).toBe('number');
    expect(typeof p.stage).toBe('string');
  }
  expect(final.output_metadata).toEqual(expect.any(Object));

  const frame = all.at(-1)!;
  if (frame.kind !== 'binary') throw new Error('last item is not a binary frame');
  expect(frame.header).toEqual({ job_id: jobId, filename: 'output.mp4' });
  expect(frame.payload.length).toBe((final.outputs as { size_bytes: number }[])[0]!.size_bytes);
  const path = join(dir, `output_${String(frame.header.filename)}`);
  await writeFile(path, frame.payload);
  expect(Math.abs((await ffprobe(path)).duration - 16)).toBeLessThan(0.15);
});
