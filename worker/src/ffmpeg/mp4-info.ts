/**
 * An ISO-BMFF input (MP4, MOV, M4A, 3GP) described from its `moov` box
 * in-process, as ffprobe would describe it: an ffprobe process costs ~0.13 s
 * (most of it process start), a fifth of a tiny job, to read a header the
 * worker can read itself. The boxes are parsed by mp4box; the mapping to
 * MediaInfo follows libavformat's mov demuxer (ffmpeg 5.1) field by field,
 * and gives up (null: the caller runs ffprobe) on anything it cannot match
 * with certainty — a codec not mapped here, fragments, cover art, chapter
 * or timecode tracks, an AAC whose decoder could change its rate or layout.
 *
 * Only the job's own bytes are read (its RangeSource's blocks or its local
 * file), at most MAX_MOOV_BYTES of them beyond the box headers; no process is
 * started and nothing else is opened.
 */
import { open } from 'node:fs/promises';
import { MiB } from '@media-foundry/shared';
import { ISOFile, Log, MP4BoxBuffer, MultiBufferStream } from 'mp4box';
import { type AudioStreamInfo, type MediaInfo, rescale, secondsOfUs, type SubtitleStreamInfo, type VideoStreamInfo } from './media-info.js';
import { type DecoderConfig, quickTimeDecoderConfig } from './quicktime-audio.js';

// mp4box prints what it cannot parse (QuickTime's ©-named udta boxes, say) to the console, and its
// lowest level still prints errors: a box it skips is a fallback or nothing here, not a line on the worker's stderr
Log.error = () => {};

/** A `moov` larger than this (hours of video) is left to ffprobe: the parsed sample tables would cost memory. */
export const MAX_MOOV_BYTES = 8 * MiB;
/** Top-level boxes walked before `moov` (ftyp, free, mdat, …; real files have a handful). */
const MAX_TOP_LEVEL_BOXES = 64;

/** ffprobe's `format_name` for every file its mov demuxer reads. */
export const MOV_FORMAT_NAME = 'mov,mp4,m4a,3gp,3g2,mj2';

/** Reads bytes `start`..`end` (end excluded) of the input. */
export type ReadBytes = (start: number, end: number) => Promise<Buffer>;

/** The `moov` box's bytes, or null when the file is not ISO-BMFF with a whole `moov` within MAX_MOOV_BYTES. */
export async function readMovieBox(read: ReadBytes, size: number): Promise<Buffer | null> {
  let at = 0;
  for (let n = 0; n < MAX_TOP_LEVEL_BOXES && at + 8 <= size; n++) {
    const header = await read(at, Math.min(at + 16, size));
    let boxSize = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    // ffprobe also reads files that start with moov/mdat/free; those are rare, and left to it
    if (n === 0 && type !== 'ftyp') return null;
    if (boxSize === 1) {
      if (header.length < 16) return null;
      boxSize = Number(header.readBigUInt64BE(8));
    } else if (boxSize === 0) boxSize = size - at; // the last box runs to the end of the file
    if (boxSize < 8 || at + boxSize > size) return null;
    if (type === 'moov') return boxSize <= MAX_MOOV_BYTES ? read(at, at + boxSize) : null;
    if (type === 'moof') return null; // fragmented: ffprobe reads the fragments' durations
    at += boxSize;
  }
  return null;
}

/**
 * Where readMovieBox, walking the top-level boxes from the start of a file of
 * `size` bytes, would read next past `head` (the file's first bytes): the
 * offset of the first box header beyond it, when the walk found an ISO-BMFF
 * file (`ftyp` first) without its `moov` (or fragments) in `head`; null
 * otherwise. Typically the `moov` after a large `mdat`, which a reader can
 * then fetch while `head`'s block still arrives.
 */
export function movieBoxSearchFrom(head: Buffer, size: number): number | null {
  let at = 0;
  for (let n = 0; n < MAX_TOP_LEVEL_BOXES && at + 8 <= size; n++) {
    if (at + 16 > head.length) return n > 0 ? at : null;
    let boxSize = head.readUInt32BE(at);
    const type = head.toString('latin1', at + 4, at + 8);
    if (n === 0 && type !== 'ftyp') return null;
    if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(at + 8));
    else if (boxSize === 0) return null; // the last box runs to the end: nothing after it
    if (boxSize < 8 || at + boxSize > size || type === 'moov' || type === 'moof') return null;
    at += boxSize;
  }
  return null;
}

/**
 * The boxes mp4box is given, by parent (containers are walked; the other
 * types named are parsed as they are); every other box is turned into
 * `free` first. mp4box trusts the counts it reads: an `stsz` declaring four
 * billion samples of one size makes it fill an array of them (a 22 KB file
 * aborted the worker), and `trun`, `iloc` or `sgpd` loop over counts without
 * reading. None of those is read here, so none is parsed.
 */
const KEPT_CHILDREN: Record<string, readonly string[]> = {
  moov: ['mvhd', 'trak', 'mvex'],
  trak: ['tkhd', 'tref', 'mdia'],
  mdia: ['mdhd', 'hdlr', 'minf'],
  minf: ['stbl'],
  stbl: ['stsd', 'stts'],
  // only their presence is read
  mvex: [],
  tref: [],
  // sample entries (in stsd): their children
  mp4a: ['esds'],
  ...Object.fromEntries(['avc1', 'avc3', 'hvc1', 'hev1', 'vp09', 'av01', 'tx3g'].map((type) => [type, []])),
};
/** Where a sample entry's child boxes begin (its header and fixed fields), as mp4box reads them. */
const ENTRY_FIELDS: Record<string, number> = { avc1: 86, avc3: 86, hvc1: 86, hev1: 86, vp09: 86, av01: 86, tx3g: 46, mp4a: 36 };
const CONTAINERS = new Set([...Object.keys(KEPT_CHILDREN), 'stsd']);

/** Turns every box in `bytes[start, end)` that `parent` does not keep into `free`, walking the kept containers; false when a box is malformed. */
function keepOnlyRead(bytes: Buffer, start: number, end: number, parent: string): boolean {
  const kept = parent === 'stsd' ? Object.keys(ENTRY_FIELDS) : (KEPT_CHILDREN[parent] ?? []);
  const boxes = childBoxes(bytes, start, end);
  if (!boxes) return false;
  for (const box of boxes) {
    if (!kept.includes(box.type)) {
      bytes.write('free', box.at + 4, 'latin1');
      continue;
    }
    if (!CONTAINERS.has(box.type)) continue;
    let children = box.start;
    if (box.type === 'stsd')
      children += 8; // version, flags, entry count
    else if (box.type === 'mp4a') {
      children = box.at + ENTRY_FIELDS.mp4a!;
      // a QuickTime sound entry (version 1 or 2) has more fields, which mp4box, given no ftyp, reads as boxes:
      // one `free` over all of it (its AAC config is read from the original bytes: quicktime-audio.ts)
      if (children + 2 > box.end) return false;
      if (bytes.readUInt16BE(box.at + 16) !== 0) {
        if (box.end - children < 8) return false;
        bytes.writeUInt32BE(box.end - children, children);
        bytes.write('free', children + 4, 'latin1');
        continue;
      }
    } else if (ENTRY_FIELDS[box.type] !== undefined) children = box.at + ENTRY_FIELDS[box.type]!;
    if (children > box.end || !keepOnlyRead(bytes, children, box.end, box.type)) return false;
  }
  return true;
}

/** The parsed box tree of a `moov` box's bytes (only the boxes read here: keepOnlyRead); null when it is malformed. */
function parseMovie(moov: Buffer): MovieBox | null {
  const copy = new ArrayBuffer(moov.length);
  const bytes = Buffer.from(copy);
  bytes.set(moov);
  if (moov.length < 8 || moov.toString('latin1', 4, 8) !== 'moov') return null;
  const header = moov.readUInt32BE(0) === 1 ? 16 : 8;
  if (!keepOnlyRead(bytes, header, moov.length, 'moov')) return null;
  const file = new ISOFile(new MultiBufferStream(MP4BoxBuffer.fromArrayBuffer(copy, 0))); // parses the stream it is given
  return (file.moov as unknown as MovieBox | undefined) ?? null;
}

// The part of mp4box's box tree read here (its own types are wider and looser).
type Matrix = ArrayLike<number>;
interface SampleEntryBox {
  type: string;
  /** Where the box starts in the `moov` bytes parsed, and its size (header included). */
  start?: number;
  size?: number;
  width?: number;
  height?: number;
  esds?: { esd?: { descs?: { oti?: number; descs?: { tag?: number; data?: Uint8Array }[] }[] } };
}
interface TrackBox {
  tkhd?: { matrix?: Matrix };
  tref?: unknown;
  mdia?: {
    mdhd?: { timescale?: number };
    hdlr?: { handler?: string };
    minf?: { stbl?: { stsd?: { entries?: SampleEntryBox[] }; stts?: { sample_counts?: number[]; sample_deltas?: number[] } } };
  };
}
export interface MovieBox {
  mvhd?: { timescale?: number; duration?: number; matrix?: Matrix };
  mvex?: unknown;
  traks?: TrackBox[];
}

/** ffmpeg's codec names for the video sample entries mapped here. */
const VIDEO_CODECS: Record<string, string> = { avc1: 'h264', avc3: 'h264', hvc1: 'hevc', hev1: 'hevc', vp09: 'vp9', av01: 'av1' };
/** The sampling frequencies of an AudioSpecificConfig's 4-bit index (ISO 14496-3, 1.6.3.4). */
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

const isIdentity = (m: Matrix | undefined) =>
  !m || (m[0] === 65536 && m[1] === 0 && m[2] === 0 && m[3] === 0 && m[4] === 65536 && m[5] === 0 && m[6] === 0 && m[7] === 0);

/**
 * ffprobe's `rotation` (av_display_rotation_get of the track's matrix,
 * printed as an integer): 0 for none; null when the matrix has no rotation
 * (a zero scale), which ffprobe cannot print either.
 */
function rotationOf(m: Matrix): number | null {
  const [a, b, c, d] = [m[0]! / 65536, m[1]! / 65536, m[3]! / 65536, m[4]! / 65536];
  const scaleX = Math.hypot(a, c);
  const scaleY = Math.hypot(b, d);
  if (scaleX === 0 || scaleY === 0) return null;
  const rotation = Math.trunc(-(Math.atan2(b / scaleY, a / scaleX) * 180) / Math.PI);
  return rotation === 0 ? 0 : rotation; // no -0
}

/** An AAC-LC track's rate and channels from its AudioSpecificConfig, where ffmpeg's decoder keeps them as written. */
function aacLc(config: DecoderConfig | null): { sampleRate: number; channels: number } | null {
  if (config?.oti !== 0x40) return null; // MPEG-4 audio
  const { asc } = config;
  if (asc.length < 2) return null;
  const objectType = asc[0]! >> 3;
  const rateIndex = ((asc[0]! & 0x07) << 1) | (asc[1]! >> 7);
  const channelConfig = (asc[1]! >> 3) & 0x0f;
  if (objectType !== 2) return null; // HE-AAC (5, 29) and the rest: the decoder decides the output
  const sampleRate = AAC_RATES[rateIndex];
  // at 24 kHz and below the decoder may find implicit SBR and double the rate; channel config 0 is a PCE's to say
  if (sampleRate === undefined || sampleRate <= 24000) return null;
  if (channelConfig < 1 || channelConfig > 7) return null;
  return { sampleRate, channels: channelConfig === 7 ? 8 : channelConfig };
}

/**
 * An `mp4a` entry's decoder config: from the `esds` mp4box parsed, or, in a
 * QuickTime sound entry whose children mp4box does not read (version 1, the
 * `esds` in a `wave`), from the entry's bytes in `moov`.
 */
function decoderConfig(entry: SampleEntryBox, moov: Buffer | undefined): DecoderConfig | null {
  const parsed = entry.esds?.esd?.descs?.[0];
  if (parsed) {
    const asc = parsed.descs?.find((d) => d.tag === 5)?.data;
    return parsed.oti !== undefined && asc ? { oti: parsed.oti, asc: Buffer.from(asc) } : null;
  }
  if (!moov || entry.start === undefined || !entry.size || entry.start + entry.size > moov.length) return null;
  return quickTimeDecoderConfig(moov.subarray(entry.start, entry.start + entry.size));
}

/** A box found by childBoxes: its type, where it begins (`at`, its header) and its payload's bounds. */
interface Box {
  type: string;
  at: number;
  start: number;
  end: number;
}

/** The child boxes of `bytes[start, end)`; null when one is malformed. */
function childBoxes(bytes: Buffer, start: number, end: number): Box[] | null {
  const found = [];
  for (let at = start; at < end;) {
    if (at + 8 > end) return null;
    let size = bytes.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return null;
      size = Number(bytes.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return null;
    found.push({ type: bytes.toString('latin1', at + 4, at + 8), at, start: at + header, end: at + size });
    at += size;
  }
  return found;
}

/** The payload of the box at `path` below `bytes[start, end)` (the first of each type), or undefined; null when malformed. */
function boxAt(bytes: Buffer, start: number, end: number, path: readonly string[]): { start: number; end: number } | undefined | null {
  let here = { start, end };
  for (const type of path) {
    const children = childBoxes(bytes, here.start, here.end);
    if (!children) return null;
    const child = children.find((c) => c.type === type);
    if (!child) return undefined;
    here = child;
  }
  return here;
}

interface Edit {
  segmentDuration: number;
  mediaTime: number;
  /** 1 plays the media as it is. */
  rate: number;
}
/** An edit's rate: a 16.16 fixed-point number. */
const rateAt = (bytes: Buffer, at: number) => bytes.readInt16BE(at) + bytes.readUInt16BE(at + 2) / 65536;

/**
 * What the mov demuxer's timing of one track starts from, read from the
 * track's bytes (mp4box is not given these boxes: it trusts their counts):
 * the media header's duration, the edit list, whether samples have
 * composition offsets (`ctts`). Null when a box is malformed.
 */
export function trackTiming(
  bytes: Buffer,
  trak: { start: number; end: number },
): {
  mediaDuration: number;
  edits: Edit[] | null;
  compositionOffsets: boolean;
} | null {
  const mdhd = boxAt(bytes, trak.start, trak.end, ['mdia', 'mdhd']);
  // version and flags, then creation and modification times, timescale, duration: 32 or 64 bits each but the timescale
  const v1 = mdhd ? mdhd.start < mdhd.end && bytes[mdhd.start] === 1 : false;
  if (!mdhd || mdhd.end - mdhd.start < (v1 ? 32 : 20)) return null;
  const mediaDuration = v1 ? Number(bytes.readBigUInt64BE(mdhd.start + 24)) : bytes.readUInt32BE(mdhd.start + 16);
  const stbl = boxAt(bytes, trak.start, trak.end, ['mdia', 'minf', 'stbl']);
  if (stbl === null) return null;
  const stblChildren = stbl ? childBoxes(bytes, stbl.start, stbl.end) : [];
  if (!stblChildren) return null;
  const elst = boxAt(bytes, trak.start, trak.end, ['edts', 'elst']);
  if (elst === null) return null;
  let edits: Edit[] | null = null;
  if (elst) {
    if (elst.end - elst.start < 8) return null;
    const version = bytes[elst.start];
    const count = bytes.readUInt32BE(elst.start + 4);
    const entrySize = version === 1 ? 20 : 12;
    if (count * entrySize > elst.end - elst.start - 8) return null;
    edits = [];
    for (let i = 0, at = elst.start + 8; i < count; i++, at += entrySize) {
      edits.push(
        version === 1
          ? {
              segmentDuration: Number(bytes.readBigUInt64BE(at)),
              mediaTime: Number(bytes.readBigInt64BE(at + 8)),
              rate: rateAt(bytes, at + 16),
            }
          : { segmentDuration: bytes.readUInt32BE(at), mediaTime: bytes.readInt32BE(at + 4), rate: rateAt(bytes, at + 8) },
      );
    }
  }
  return { mediaDuration, edits, compositionOffsets: stblChildren.some((c) => c.type === 'ctts') };
}

/**
 * A video track's end on the seek timeline in µs, as ffprobe's start_pts +
 * duration_ts (in the track's timescale; `sampleDurations`: its `stts`
 * total) less the file's start of 0; null where the demuxer's answer needs
 * more than these boxes: several edits, an empty or non-unit-rate edit, or
 * composition offsets without an edit list to start the track at 0 (its
 * first picture is then shown late).
 */
export function videoEndUs(
  timing: NonNullable<ReturnType<typeof trackTiming>>,
  sampleDurations: number,
  timescale: number,
  movieTimescale: number,
): number | null {
  const { mediaDuration, edits, compositionOffsets } = timing;
  if (!Number.isSafeInteger(mediaDuration) || mediaDuration <= 0) return null;
  // mov_read_stts: no longer than its samples last (a `-t` stream copy leaves the media header longer)
  let duration = Math.min(mediaDuration, sampleDurations);
  if (edits === null || edits.length === 0) {
    if (compositionOffsets) return null;
  } else {
    const [edit] = edits;
    if (edits.length !== 1 || edit!.rate !== 1 || edit!.mediaTime < 0 || edit!.mediaTime >= mediaDuration) return null;
    if (edit!.mediaTime === 0 && compositionOffsets) return null;
    if (!Number.isSafeInteger(edit!.segmentDuration)) return null;
    // mov_fix_index: the stream is cut to its edit, rescaled from the movie's timescale
    duration = Math.min(duration, rescale(edit!.segmentDuration, timescale, movieTimescale));
  }
  return rescale(duration, 1_000_000, timescale);
}

/** Whether a track's edits leave its start at or after the file's 0 (none, empty edits, or plain ones). */
const startsAtOrAfterZero = (edits: Edit[] | null) => (edits ?? []).every((e) => e.mediaTime === -1 || (e.mediaTime >= 0 && e.rate === 1));

type Stts = { sample_counts?: number[]; sample_deltas?: number[] } | undefined;

/** The samples and their total duration in an `stts`; null for a delta ffmpeg rewrites or a table that does not add up. */
function sampleTimes(stts: Stts): { frames: number; duration: number } | null {
  const counts = stts?.sample_counts ?? [];
  const deltas = stts?.sample_deltas ?? [];
  if (counts.length === 0 || counts.length !== deltas.length) return null;
  let frames = 0;
  let duration = 0;
  for (const [i, count] of counts.entries()) {
    const delta = deltas[i]!;
    if (delta <= 0 || delta >= 2 ** 31) return null; // ffmpeg rewrites such deltas
    frames += count;
    duration += count * delta;
  }
  return frames > 0 && duration > 0 && Number.isSafeInteger(duration) ? { frames, duration } : null;
}

/** avg_frame_rate as the mov demuxer sets it (timescale × samples / their total duration, from stts), rounded as parseFrameRate does. */
function frameRate(timescale: number, times: { frames: number; duration: number }): number | null {
  if (!Number.isSafeInteger(timescale * times.frames)) return null;
  const fps = (timescale * times.frames) / times.duration;
  return Number.isFinite(fps) ? Math.round(fps * 1000) / 1000 : null;
}

/**
 * MediaInfo from a parsed `moov` (and its bytes, `raw`, for what mp4box
 * is not given), equal to what toMediaInfo makes of ffprobe's answer for
 * the same file of `sizeBytes`; null when any part of it could differ.
 */
export function mediaInfoFromMp4(moov: MovieBox, sizeBytes: number, raw: Buffer): MediaInfo | null {
  const mvhd = moov.mvhd;
  if (moov.mvex || !mvhd?.timescale || !mvhd.duration || !isIdentity(mvhd.matrix) || !moov.traks?.length) return null;
  if (!Number.isSafeInteger(mvhd.duration) || sizeBytes <= 0) return null;
  // the demuxer takes the movie header's duration; ffprobe prints it in µs with 6 decimals
  const durationUs = rescale(mvhd.duration, 1_000_000, mvhd.timescale);
  if (durationUs <= 0) return null;
  let video: VideoStreamInfo | null = null;
  let audio: AudioStreamInfo | null = null;
  const subtitles: SubtitleStreamInfo[] = [];
  const rawTraks = traksOf(raw);
  if (rawTraks?.length !== moov.traks.length) return null;
  // one stream per trak, in file order: the trak's position is ffprobe's stream index
  for (const [index, trak] of moov.traks.entries()) {
    if (trak.tref) return null; // chapter, timecode or hint references: ffmpeg turns those tracks into something else
    const timing = trackTiming(raw, rawTraks[index]!);
    // a track starting before 0 would move the file's start, and with it every end on the seek timeline
    if (!timing || !startsAtOrAfterZero(timing.edits)) return null;
    const entries = trak.mdia?.minf?.stbl?.stsd?.entries ?? [];
    const entry = entries[0];
    if (entries.length !== 1 || !entry) return null;
    const handler = trak.mdia?.hdlr?.handler;
    if (handler === 'vide') {
      const codec = VIDEO_CODECS[entry.type];
      const timescale = trak.mdia?.mdhd?.timescale;
      if (!codec || !entry.width || !entry.height || !timescale || !trak.tkhd?.matrix) return null;
      const times = sampleTimes(trak.mdia?.minf?.stbl?.stts);
      const fps = times && frameRate(timescale, times);
      const rotation = isIdentity(trak.tkhd.matrix) ? 0 : rotationOf(trak.tkhd.matrix);
      if (!times || !fps || rotation === null) return null;
      if (!video) {
        const endUs = videoEndUs(timing, times.duration, timescale, mvhd.timescale);
        if (endUs === null || endUs <= 0) return null;
        video = {
          index,
          codec,
          width: entry.width,
          height: entry.height,
          fps,
          ...(rotation ? { rotation } : {}),
          end: secondsOfUs(endUs),
          // the demuxer's pts info: 1/timescale, a fraction already in lowest terms
          timeBase: `1/${timescale}`,
        };
      }
    } else if (handler === 'soun') {
      const aac = entry.type === 'mp4a' ? aacLc(decoderConfig(entry, raw)) : null;
      if (!aac) return null;
      audio ??= { index, codec: 'aac', ...aac };
    } else if ((handler === 'sbtl' || handler === 'text' || handler === 'subt') && entry.type === 'tx3g') {
      subtitles.push({ index, codec: 'mov_text' });
    } else return null;
  }
  return {
    formatName: MOV_FORMAT_NAME,
    duration: secondsOfUs(durationUs),
    sizeBytes,
    // libavformat: file size × 8 / duration, as a double truncated to an integer
    bitrate: Math.trunc((sizeBytes * 8 * 1_000_000) / durationUs),
    video,
    audio,
    subtitles,
  };
}

/** Cover art (`covr`) becomes an attached-picture stream whose place among the streams depends on where udta sits. */
const hasCoverArt = (moov: Buffer) => moov.includes('covr', 0, 'latin1');

/** The `trak` boxes of a whole `moov` box (header included), in file order; null when a child box is malformed. */
function traksOf(moov: Buffer): Box[] | null {
  return childBoxes(moov, moov.readUInt32BE(0) === 1 ? 16 : 8, moov.length)?.filter((b) => b.type === 'trak') ?? null;
}

/** How many `trak` boxes the `moov` box holds, by walking its children's headers; null when one is malformed. */
export function countTracks(moov: Buffer): number | null {
  return traksOf(moov)?.length ?? null;
}

/** The input described from its header boxes; null when it is not ISO-BMFF or anything in it is left to ffprobe. */
export async function describeMp4(read: ReadBytes, size: number): Promise<MediaInfo | null> {
  const bytes = await readMovieBox(read, size);
  if (!bytes || hasCoverArt(bytes)) return null;
  let moov: MovieBox | null;
  try {
    moov = parseMovie(bytes);
  } catch {
    return null; // malformed boxes: ffprobe gives the answer (and the words for a failure)
  }
  // a trak mp4box could not parse would shift every stream index after it
  if (!moov || (moov.traks?.length ?? 0) !== countTracks(bytes)) return null;
  return mediaInfoFromMp4(moov, size, bytes);
}

/** Runs `use` with a ReadBytes over a local file (and its size), the file open meanwhile. */
export async function readingFile<T>(path: string, use: (read: ReadBytes, size: number) => Promise<T>): Promise<T> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    return await use(async (start, end) => {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(end - start), 0, end - start, start);
      return buffer.subarray(0, bytesRead);
    }, size);
  } finally {
    await file.close();
  }
}

/** `describeMp4` of a local file. */
export function describeMp4File(path: string): Promise<MediaInfo | null> {
  return readingFile(path, describeMp4);
}
