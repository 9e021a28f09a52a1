/**
 * Builds docs/OPERATIONS.md from the code, so it cannot drift: each
 * operation's options table comes from its zod schema (as JSON Schema), and
 * its ffmpeg command lines from the worker's own argument builders run on a
 * fixed sample input. `npm run docs:operations` writes the file
 * (operations-doc-cli.ts); test/operations-doc.test.ts fails when the
 * committed file differs.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { OPERATION_NAMES, operationOptions, type OperationName, type OperationRequest } from '@media-foundry/shared';
import {
  GLOBAL_ARGS,
  MEDIA_DEMUXERS,
  buildPlan,
  guardInputs,
  type FfmpegPlan,
  type MediaInfo,
  type MultiInputContext,
} from '@media-foundry/worker/lib';
import { ROOT } from './paths.js';

/** Where the generated document lives. */
export const OPERATIONS_DOC_FILE = join(ROOT, 'docs', 'OPERATIONS.md');

type JsonSchema = Record<string, unknown>;

/** The sample input every command line is built for: what ffprobe reports, as the worker reduces it. */
export const SAMPLE_INFO: MediaInfo = {
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  duration: 10,
  sizeBytes: 2_500_000,
  bitrate: 2_000_000,
  video: { index: 0, codec: 'h264', width: 1280, height: 720, fps: 25, end: 10, timeBase: '1/12800' },
  audio: { index: 1, codec: 'aac', sampleRate: 48000, channels: 2 },
  // MP4 carries text subtitles as mov_text (what a .srt becomes when muxed into MP4)
  subtitles: [{ index: 2, codec: 'mov_text' }],
};

/** Paths as the worker lays out a job's temp dir (`input` for one input; `input_0`, `input_1`… for several). */
const SINGLE_INPUT_CONTEXT: MultiInputContext = {
  inputPath: '/tmp/job/input.mp4',
  inputPaths: ['/tmp/job/input.mp4'],
  workDir: '/tmp/job',
  outputDir: '/tmp/job/out',
  threads: 0,
};
const CONCAT_INPUTS = ['/tmp/job/input_0.mp4', '/tmp/job/input_1.mp4'];
const CONCAT_CONTEXT: MultiInputContext = { ...SINGLE_INPUT_CONTEXT, inputPath: CONCAT_INPUTS[0]!, inputPaths: CONCAT_INPUTS };

/** One sample request per operation, as a client sends its `options`. */
export const SAMPLE_OPTIONS: { [K in OperationName]: z.input<(typeof operationOptions)[K]> } = {
  speed: { speed_factor: 2, maintain_pitch: false },
  compress: { preset: 'low', max_width: 640, max_height: 640 },
  extract_audio: { format: 'mp3', bitrate_kbps: 192, sample_rate: 44100 },
  remove_audio: { keep_video_quality: true },
  convert: { target_format: 'webm' },
  thumbnail: { count: 3, format: 'jpeg', width: 320, height: 180 },
  trim: { start_time: 2, end_time: 8 },
  concat: {},
  gif: { start_time: 1, duration: 3, fps: 15, width: 480, optimize: true },
  filter: {
    filters: [
      { type: 'scale', width: 640 },
      { type: 'rotate', angle: 90 },
      { type: 'volume', volume: 1.5 },
    ],
  },
  subtitles: { mode: 'burn' },
  probe: {},
  hls: {
    renditions: [{ height: 720 }, { height: 480 }, { height: 360, video_bitrate_kbps: 600, audio_bitrate_kbps: 96 }],
    segment_seconds: 4,
  },
  dash: { renditions: [{ height: 720 }, { height: 360 }], segment_seconds: 4 },
  watermark: { type: 'text', text: 'media-foundry', position: 'top_right', opacity: 0.8 },
  pipeline: {
    steps: [
      { operation: 'trim', options: { start_time: 2, end_time: 8 } },
      { operation: 'speed', options: { speed_factor: 1.5 } },
      { operation: 'filter', options: { filters: [{ type: 'scale', width: 640 }] } },
      { operation: 'compress', options: { preset: 'medium' } },
    ],
  },
};

/** What each operation does, including the cross-field rules JSON Schema cannot show. */
const SUMMARIES: Record<OperationName, string> = {
  speed:
    'Changes playback speed: the video by `setpts`, the audio by an `atempo` chain (pitch kept) or by resampling like tape (`maintain_pitch: false`). The output lasts input ÷ `speed_factor`; MP4 (H.264/AAC), or M4A for audio-only input.',
  compress:
    'Re-encodes smaller: H.264/AAC in mp4 or mkv, VP9/Opus in webm. `preset` sets CRF, encoder speed and audio bitrate (low 32/veryfast/96k, medium 28/medium/128k, high 23/slow/192k, custom 23/medium/128k); an explicit `crf`, `video_bitrate_kbps` or `audio_bitrate_kbps` overrides it (`video_bitrate_kbps` alone targets that bitrate; with `crf` it caps it). `max_width`/`max_height` shrink the frame to fit, keeping the aspect ratio and even sides, never enlarging it. `target_size_mb` (not with `crf` or `video_bitrate_kbps`) asks for a file of at most that many MB (1 MB = 1,000,000 bytes): the video bitrate comes from the output duration, less the audio (lowered to fit, down to 32 kbps, unless `audio_bitrate_kbps` is given) and the muxing overhead, aiming 5 % under the target, in a two-pass encode (x264, VP9 for webm) whose log goes in the job temp dir; a target below the floor (0.003 bits per pixel of video, at least 64 kbps, plus the audio) is `JOB_FAILED` naming the smallest reachable size, and a result over the target fails the job rather than being delivered.',
  extract_audio:
    'The first audio stream alone, re-encoded to `format` (`ogg` is Vorbis, `opus` Opus in Ogg, `m4a` AAC in MP4). `bitrate_kbps` is ignored by the lossless wav and flac; Vorbis is encoded at the quality whose nominal bitrate is nearest it (libvorbis refuses a fixed bitrate outside a range that depends on the sample rate), Opus at most 256 kbps a channel. Opus only takes 8000, 16000 or 48000 Hz, MP3 at most 48000. Fails with `JOB_FAILED` when the input has no audio.',
  remove_audio:
    'The first video stream alone (no audio, subtitles or data). `keep_video_quality: true` copies it untouched (into MP4, WebM for VP8/VP9, else Matroska); `false` re-encodes it to H.264 MP4.',
  convert:
    "Changes the container. Re-encodes to `video_codec`/`audio_codec` or the container's usual pair (webm: VP9/Opus, avi: MPEG-4/MP3, the others H.264/AAC); `stream_copy: true` copies the streams instead, which fails with `JOB_FAILED` when the container cannot hold them, and cannot be combined with a codec. A codec the container cannot hold is a `VALIDATION_ERROR`.",
  thumbnail:
    'One image at `timestamp`, or `count` evenly spaced images (mutually exclusive; neither: one image from the middle), one ffmpeg run per image. One of `width`/`height` keeps the aspect ratio (the other side rounded to even; one under 2 pixels, as a tiny `width` of a very wide picture gives, is `JOB_FAILED` "Scaling would leave no picture"); both stretch to exactly that size. A `timestamp` past the end of the input is `JOB_FAILED`. Where the picture stops before the file does (the audio runs on), `count` spaces the images over the picture, and a `timestamp` after its last frames takes a picture two frames before its end (seeking past the last picture would find none).',
  trim: 'The part from `start_time` to `end_time` (default: the end; `end_time` must be after `start_time`, and not past the end of the input). Re-encoded by default, so the cut is frame-accurate; `stream_copy` is fast and lossless but cuts at keyframes. A `start_time` within the last frame leaves no frame to write: `JOB_FAILED` "FFmpeg produced no output" (so does any job whose media output holds no stream).',
  concat:
    "The inputs (2 to 20, from `input.urls` or `input.filenames`) one after another. Inputs in the same container with the same streams in the same places (codecs, size, frame rate, rotation, video time base, audio layout) are joined without re-encoding (the concat demuxer, shown below); otherwise, or with `reencode: true`, each is scaled and padded to the first one's size and frame rate and re-encoded in one filter graph.",
  gif: '`duration` seconds from `start_time` as a looping animated GIF at `fps`, `width` pixels wide keeping the aspect ratio (default: the input\'s width, at most 480; a height under a pixel is `JOB_FAILED` "Scaling would leave no picture"). `optimize` builds a palette from the clip itself (palettegen/paletteuse): better colours, smaller file. A `start_time` past the end of the input, or of its picture when the audio runs on after it, is `JOB_FAILED`; one in the picture\'s last two frames starts two frames before its end, and a clip shorter than two GIF frames keeps its one frame.',
  filter:
    'Up to 20 filters: the video ones (scale, rotate, crop, fps) as one chain re-encoded to H.264, the audio ones (volume, normalize: EBU R128 to -16 LUFS) as another re-encoded to AAC, each in the order given; a stream no filter touches is copied. A crop outside the frame is `JOB_FAILED`.',
  subtitles:
    '`extract` returns a text subtitle stream as srt, vtt or ass; `burn` draws one into the video (H.264). `stream_index` counts subtitle streams only. With a second input (a subtitle file), `burn` takes the subtitles from it.',
  probe: "The input's `output_metadata` and no output file: the cheap way to inspect media.",
  hls: "An HLS adaptive ladder in one ffmpeg pass: the video is decoded once, `split`, scaled and encoded once per rendition (capped VBR: maxrate 1.07×, buffer 2×), with keyframes forced at every segment boundary and no scene-cut keyframes, so all renditions' segments start at the same instants. `renditions` (each `{height, video_bitrate_kbps?, audio_bitrate_kbps?}`, height 72 to 4320, distinct) default to 1080/720/480/360 up to the input's height (the input's height when it is lower); widths keep the aspect ratio, rounded to even; a rendition taller than the input is `JOB_FAILED`. Default bitrates: 1080p 5000, 720p 2800, 480p 1400, 360p 800 kbps video (others by pixel count), 128 kbps audio. `codec: hevc` (libx265, in Debian's ffmpeg; a build without it fails the job with `JOB_FAILED`) writes fMP4 segments. Outputs: `master.m3u8` first, then per rendition `<height>p/index.m3u8` followed by its segments `<height>p/seg_000.ts` (hevc: `init_<n>.mp4`, `seg_000.m4s`) — relative paths, so a client rebuilds the tree; with `delivery_method: \"url\"` one URL each, the master playlist's first. `output_metadata` describes the top rendition with format `hls`, the input's duration and the total size. More than 4000 segments in all is `JOB_FAILED`.",
  dash: 'A DASH adaptive ladder, made like `hls` (same `renditions`, `segment_seconds`, `codec`, aligned keyframes, one pass): `manifest.mpd` with one video and one audio adaptation set, then per representation `n` (videos first, highest first, then the audio of each rendition) `init_<n>.m4s` followed by its segments `seg_<n>_001.m4s`. Outputs in that order, the manifest first.',
  watermark:
    "Marks the video with an image or a text at `position` (`margin` pixels from the edges), re-encoded to H.264 MP4; the audio is copied (AAC when MP4 cannot hold it). `type: image` takes the picture as the job's second input (`input.urls` / `input.filenames`, a PNG keeps its alpha), `scale` × the video's width wide, its alpha multiplied by `opacity`. `type: text` draws `text` (1 to 200 characters, newlines allowed) in DejaVu Sans (`WATERMARK_FONT_FILE`) with a font size of `scale` × the video's width, in `color` at `opacity`; the text is written to a file that `drawtext` reads with `%{…}` expansion off, so no character of it is filter syntax.",
  pipeline:
    "Several operations on one input in one job: `steps` is an ordered list (1 to 10) of `{operation, options}` from trim, speed, filter, remove_audio, watermark (`type: text` only: an image one needs a second input, and a pipeline has one), compress, convert, extract_audio, gif and thumbnail, each step's options checked by that operation's own schema (errors name the step: `options.steps[2].options.crf`). Each step works on what the steps before it leave (a trim after a 2× speed counts in the faster timeline). The last step decides the output: compress, convert, extract_audio, gif and thumbnail may only come last (so nothing follows a thumbnail, and there is never a second output format), nothing may need the audio after remove_audio, and a watermark step is a text; such a chain is a `VALIDATION_ERROR` saying why. Without one of them the output is what the last step alone would write. The worker fuses the steps into one ffmpeg run: trims (and a gif's clip) become input seeking, speed, filters and text watermarks (`drawtext`, at the frame size the steps before leave) one video and one audio chain, the last step picks the encoders and container; a final compress with `target_size_mb` makes that two passes. A trim after `normalize` (loudnorm adapts over time), a `normalize` after a trim of an MPEG-TS/PS or raw stream input (its window is entered early and decoded to the time: loudnorm would hear the part before) and a `stream_copy` trim next to re-encoding steps cannot be fused: the chain then runs as consecutive ffmpeg runs on files in the job's temp dir. Progress is weighted by the seconds each run writes.",
};

// ---------------------------------------------------------------- options tables

/** A JSON Schema of one option as a short phrase: type, range or allowed values. */
export function describeType(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => `\`${String(v)}\``).join(', ')}`;
  const alternatives = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (alternatives) {
    if (alternatives.every((a) => a.const !== undefined)) return `one of ${alternatives.map((a) => `\`${String(a.const)}\``).join(', ')}`;
    return alternatives.map(describeType).join(' or ');
  }
  if (s.type === 'number' || s.type === 'integer') {
    const range = rangeText(s.minimum, s.exclusiveMinimum, s.maximum);
    return range ? `${s.type}, ${range}` : String(s.type);
  }
  if (s.type === 'array') {
    const items = s.items as JsonSchema;
    const count = s.minItems !== undefined && s.maxItems !== undefined ? `${String(s.minItems)} to ${String(s.maxItems)} ` : '';
    const what = items.oneOf || items.anyOf ? 'entries (below)' : `× ${describeType(items)}`;
    return `array of ${count}${what}`;
  }
  if (typeof s.type === 'string') return s.type;
  throw new Error(`cannot describe schema ${JSON.stringify(s)}`);
}

/** `0.25 to 10`, `≥ 0`, `> 0 and ≤ 30`; a maximum of MAX_SAFE_INTEGER is "no maximum". */
function rangeText(min: unknown, exclusiveMin: unknown, max: unknown): string {
  const upper = typeof max === 'number' && max < Number.MAX_SAFE_INTEGER ? max : undefined;
  if (typeof min === 'number' && upper !== undefined) return `${min} to ${upper}`;
  const parts: string[] = [];
  if (typeof min === 'number') parts.push(`≥ ${min}`);
  if (typeof exclusiveMin === 'number') parts.push(`> ${exclusiveMin}`);
  if (upper !== undefined) parts.push(`≤ ${upper}`);
  return parts.join(' and ');
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The Markdown table of an object schema's properties. */
function optionsTable(s: JsonSchema): string[] {
  const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required as string[] | undefined) ?? []);
  const names = Object.keys(properties);
  if (names.length === 0) return ['No options.'];
  return [
    '| option | type | default | required |',
    '|---|---|---|---|',
    ...names.map((name) => {
      const p = properties[name]!;
      const def = p.default === undefined ? '—' : `\`${JSON.stringify(p.default)}\``;
      return `| \`${name}\` | ${cell(describeType(p))} | ${cell(def)} | ${required.has(name) ? 'yes' : 'no'} |`;
    }),
  ];
}

/** A variant of a discriminated union, named by its constant property: `` `type: "scale"` ``. */
function variantName(variant: JsonSchema): string {
  const properties = (variant.properties ?? {}) as Record<string, JsonSchema>;
  const tag = Object.entries(properties).find(([, p]) => p.const !== undefined);
  if (!tag) throw new Error(`union variant without a constant property: ${JSON.stringify(variant)}`);
  return `\`${tag[0]}: ${JSON.stringify(tag[1].const)}\``;
}

function variantTables(variants: JsonSchema[]): string[] {
  return variants.flatMap((v) => ['', `- ${variantName(v)}`, '', ...optionsTable(v).map((line) => `  ${line}`)]);
}

/** The options section of one operation: a table, or one per variant of a union. */
function optionsSection(name: OperationName): string[] {
  const schema: JsonSchema = z.toJSONSchema(operationOptions[name], { io: 'input', unrepresentable: 'any' });
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (variants) return ['`options` is one of:', ...variantTables(variants)];
  const lines = optionsTable(schema);
  for (const [prop, p] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
    const items = p.items as JsonSchema | undefined;
    const itemVariants = (items?.oneOf ?? items?.anyOf) as JsonSchema[] | undefined;
    // pipeline steps: `{operation, options}` whose options are the named operation's own (documented in its section)
    const operations = itemVariants?.map((v) => (v.properties as Record<string, JsonSchema> | undefined)?.operation?.const);
    if (itemVariants && operations?.every((o) => typeof o === 'string'))
      lines.push(
        '',
        `Each entry of \`${prop}\` is \`{operation, options}\`: \`operation\` one of ${operations.map((o) => `[\`${o}\`](#${o})`).join(', ')}; \`options\` exactly as that operation takes them (default \`{}\`).`,
      );
    else if (itemVariants) lines.push('', `Each entry of \`${prop}\` is one of:`, ...variantTables(itemVariants));
  }
  return lines;
}

// ---------------------------------------------------------------- command lines

/** The `-format_whitelist` value of every input, and what the document prints instead. */
export const MEDIA = MEDIA_DEMUXERS.join(',');
export const MEDIA_PLACEHOLDER = '<media demuxers>';

/** A shell word: as it is when it needs no quoting, else in single quotes. */
export function shellQuote(word: string): string {
  if (word === MEDIA_PLACEHOLDER || word === `concat,${MEDIA_PLACEHOLDER}`) return word;
  if (/^[A-Za-z0-9_\-+=.,:/@%^]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * One run as the worker starts it (`ffmpeg`, the global flags, then the
 * builder's arguments with the input guards before each `-i`), one line per
 * input, then the output options, then the output file.
 */
export function commandLine(args: readonly string[]): string {
  const guarded = guardInputs(args).map((a) => a.replace(MEDIA, MEDIA_PLACEHOLDER));
  const lines = [['ffmpeg', ...GLOBAL_ARGS]];
  let current: string[] = [];
  for (let i = 0; i < guarded.length; i++) {
    current.push(guarded[i]!);
    if (guarded[i] === '-i' && i + 1 < guarded.length) {
      current.push(guarded[++i]!);
      lines.push(current);
      current = [];
    }
  }
  const output = current.pop();
  if (current.length > 0) lines.push(current);
  if (output !== undefined) lines.push([output]);
  return lines.map((words) => words.map(shellQuote).join(' ')).join(' \\\n    ');
}

function request(name: OperationName): OperationRequest {
  return { operation: name, options: operationOptions[name].parse(SAMPLE_OPTIONS[name]) } as OperationRequest;
}

/** The worker's plan for an operation's sample request on the sample input (twice for concat). */
export function samplePlan(name: OperationName): FfmpegPlan {
  const concat = name === 'concat';
  return buildPlan(request(name), concat ? [SAMPLE_INFO, SAMPLE_INFO] : [SAMPLE_INFO], concat ? CONCAT_CONTEXT : SINGLE_INPUT_CONTEXT);
}

function commandsSection(name: OperationName): string[] {
  const concat = name === 'concat';
  const plan = samplePlan(name);
  const lines = [
    `Sample request (\`options\`), on the sample input${concat ? ' twice' : ''}: \`${JSON.stringify(SAMPLE_OPTIONS[name])}\``,
    '',
  ];
  if (plan.runs.length === 0) return [...lines, "Runs no ffmpeg: the result is the input's metadata, with no output file."];
  for (const file of plan.files ?? [])
    lines.push(`The worker first writes \`${file.path}\`:`, '', '```text', file.content.trimEnd(), '```', '');
  lines.push(plan.runs.length === 1 ? 'Runs:' : `Runs, one after another (${plan.runs.length} runs):`, '', '```sh');
  lines.push(...plan.runs.map(commandLine));
  lines.push('```', '');
  if (plan.collectOutputs) {
    lines.push('Output files: every file the run left in `/tmp/job/out/`, found after it, in the order the summary gives.');
    return lines;
  }
  lines.push('Output files (in `/tmp/job/out/`, sent in this order):', '');
  lines.push(...plan.outputs.map((o) => `- \`${o.filename}\` (${o.contentType}; \`output_metadata.format\`: \`${o.format}\`)`));
  return lines;
}

// ---------------------------------------------------------------- the document

const INTRO = [
  '# Operations',
  '',
  "<!-- Generated by `npm run docs:operations` (tools/operations-doc.ts) from the zod schemas and the worker's argument builders. Do not edit by hand. -->",
  '',
  'Every operation a `start_job` can name: its `options` (from the zod schema in `shared/src/operations/`; JSON Schema cannot show',
  'cross-field rules, so each summary states them) and the exact ffmpeg command line(s) the worker runs for one sample request',
  "(built by the worker's own argument builders in `worker/src/ffmpeg/operations/`). Options left out take their default;",
  'unknown options are a `VALIDATION_ERROR`.',
  '',
  '## The sample input',
  '',
  'The command lines are built for a 10 s 1280x720 25 fps H.264 / AAC 48 kHz stereo MP4 with one text subtitle stream,',
  'as the worker sees it after probing (`MediaInfo`):',
  '',
  '```json',
  JSON.stringify(SAMPLE_INFO, null, 2),
  '```',
  '',
  "The job's temp dir is `/tmp/job`: its input is `/tmp/job/input.mp4` (concat: `/tmp/job/input_0.mp4`, `/tmp/job/input_1.mp4`,",
  'the sample input twice), its outputs go to `/tmp/job/out/`. `FFMPEG_THREADS` is 0, so no `-threads` flag',
  '(otherwise `-threads N` comes before the output file).',
  '',
  '`thumbnail`, `probe`, `trim` and `gif` read only part of their input; a single input of theirs whose origin (or',
  "storage) answers HTTP ranges is not downloaded but read by range through the worker's own loopback input server:",
  'the input is then `http://127.0.0.1:<port>/<per-job token>/input.mp4`, guarded with `-protocol_whitelist http,tcp',
  '-reconnect 1` instead (see docs/SECURITY.md). Every other input is a local file, as shown.',
  '',
  'The commands seek with `-ss` before `-i`, which lands on a keyframe at or before the time in MP4, Matroska, AVI and',
  'the like. MPEG-TS and MPEG-PS have no index: their seek lands on the keyframe after the time, so for them `thumbnail`,',
  '`gif`, a re-encoding `trim` and a `pipeline` run that copies no video enter the input up to 15 s early and decode to',
  'the time (`-ss` after `-i` too), and raw H.264/HEVC streams are decoded from their start. A `stream_copy` trim (and a',
  'pipeline run that copies the video) starts at a keyframe either way.',
  '',
  '## How ffmpeg is run',
  '',
  `Every run starts with the same flags (\`${GLOBAL_ARGS.join(' ')}\`: no prompts, progress as key=value lines on stdout,`,
  'only errors on stderr), and every input is guarded: `-protocol_whitelist file,pipe` (no network protocols) and',
  '`-format_whitelist <media demuxers>` (no playlist demuxers such as hls or concat; only the concat list the worker wrote',
  'itself is opened with `concat` allowed). To keep the lines readable, `<media demuxers>` abbreviates this list:',
  '',
  '```text',
  MEDIA,
  '```',
  '',
  'With `FFMPEG_MAX_MEMORY_MB` set (the default, 4096) the command runs under `prlimit --as=<bytes> --cpu=<seconds> --`,',
  'and it is killed after `FFMPEG_TIMEOUT_SECONDS`. With `FFMPEG_PRESTART` (the default) the process was started before',
  'the job, as `ffmpeg --media-foundry-wait-for-argv` under the same `prlimit`, and the arguments shown here reach it on',
  'stdin (`worker/src/launcher/prestart.ts`).',
  '',
  '| operation | options |',
  '|---|---|',
  ...OPERATION_NAMES.map((name) => `| [\`${name}\`](#${name}) | ${cell(optionNames(name))} |`),
];

function optionNames(name: OperationName): string {
  const schema: JsonSchema = z.toJSONSchema(operationOptions[name], { io: 'input', unrepresentable: 'any' });
  const objects = ((schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined) ?? [schema];
  const names = [...new Set(objects.flatMap((o) => Object.keys((o.properties ?? {}) as object)))];
  return names.length === 0 ? '—' : names.map((n) => `\`${n}\``).join(', ');
}

/** docs/OPERATIONS.md as the code describes it now. */
export function renderOperationsDoc(): string {
  const sections = OPERATION_NAMES.flatMap((name) => [
    '',
    `## ${name}`,
    '',
    SUMMARIES[name],
    '',
    '### Options',
    '',
    ...optionsSection(name),
    '',
    '### Command',
    '',
    ...commandsSection(name),
  ]);
  return [...INTRO, ...sections, ''].join('\n');
}
