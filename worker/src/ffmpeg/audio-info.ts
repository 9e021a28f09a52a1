/**
 * An MP3 or WAV file ffmpeg just wrote (`extract_audio`'s, a pipeline's),
 * described in-process for `output_metadata` from its first bytes: ffprobe
 * costs a process start (~50-70 ms here) to read what the headers say.
 *
 * The answer is ffprobe's, number for number (audio-info.test.ts checks it
 * against ffprobe for every sample rate and both channel counts): an MP3's
 * duration is its Xing/Info tag's frame count × samples per frame (ffmpeg's
 * mp3 muxer writes the tag), a WAV's its data size ÷ block size; the
 * bitrate is the file size × 8 ÷ the duration, truncated, as libavformat
 * computes it. Anything else (no Xing tag, or one whose byte count the file
 * does not match; another WAV encoding, or a `data` size the file does not
 * hold; a header past the bytes given) is left to ffprobe (null).
 */
import { type MediaInfo, rescale } from './media-info.js';

/** What the headers gave: the rest of MediaInfo follows from them. */
interface AudioHeaders {
  formatName: string;
  codec: string;
  sampleRate: number;
  channels: number;
  /** Length in samples (per channel). */
  samples: number;
}

function mediaInfo(h: AudioHeaders, size: number): MediaInfo | null {
  if (h.samples <= 0 || h.sampleRate <= 0) return null;
  // libavformat's duration in whole microseconds
  const durationUs = rescale(h.samples, 1_000_000, h.sampleRate);
  return {
    formatName: h.formatName,
    duration: durationUs / 1_000_000,
    sizeBytes: size,
    // file size × 8 / duration, as a double truncated to an integer
    bitrate: Math.trunc((size * 8 * 1_000_000) / durationUs),
    video: null,
    audio: { index: 0, codec: h.codec, sampleRate: h.sampleRate, channels: h.channels },
    subtitles: [],
  };
}

/** MPEG audio sample rates by version (bits 19-20: 2.5, reserved, 2, 1) and index. */
const MPEG_SAMPLE_RATES: Record<number, readonly number[]> = {
  0: [11025, 12000, 8000],
  2: [22050, 24000, 16000],
  3: [44100, 48000, 32000],
};

/** The headers of an MP3 of `size` bytes from its first bytes: an ID3v2 tag (skipped), then the first frame and the Xing/Info tag in it. */
export function mp3Headers(head: Buffer, size: number): AudioHeaders | null {
  let at = 0;
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'ID3') {
    // a syncsafe size (7 bits a byte), after the 10-byte header; a footer adds 10 more
    const size = ((head[6]! & 0x7f) << 21) | ((head[7]! & 0x7f) << 14) | ((head[8]! & 0x7f) << 7) | (head[9]! & 0x7f);
    at = 10 + size + (head[5]! & 0x10 ? 10 : 0);
  }
  if (at + 4 > head.length) return null;
  const header = head.readUInt32BE(at);
  if ((header & 0xffe00000) >>> 0 !== 0xffe00000) return null; // frame sync
  const version = (header >>> 19) & 3; // 3: MPEG 1, 2: MPEG 2, 0: MPEG 2.5
  const layer = (header >>> 17) & 3; // 1: layer III
  const bitrateIndex = (header >>> 12) & 15;
  const rates = MPEG_SAMPLE_RATES[version];
  const sampleRate = rates?.[(header >>> 10) & 3];
  if (!sampleRate || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15) return null;
  const mono = ((header >>> 6) & 3) === 3;
  const mpeg1 = version === 3;
  // the Xing/Info tag follows the frame header and the side information
  const sideInfo = mpeg1 ? (mono ? 17 : 32) : mono ? 9 : 17;
  const tag = at + 4 + sideInfo;
  if (tag + 12 > head.length) return null;
  const name = head.toString('latin1', tag, tag + 4);
  if (name !== 'Xing' && name !== 'Info') return null;
  const flags = head.readUInt32BE(tag + 4);
  if ((flags & 1) === 0) return null; // no frame count
  // the audio frames, the tag's own not counted
  const frames = head.readUInt32BE(tag + 8);
  if (frames === 0) return null;
  if (flags & 2) {
    // libavformat drops the frame count (and estimates from the bitrate) when the file after the ID3v2 tag
    // is larger than the tag's byte count by more than a sixteenth; here either way goes to ffprobe
    if (tag + 16 > head.length) return null;
    const bytes = head.readUInt32BE(tag + 12);
    const after = size - at;
    if (bytes > 0 && Math.abs(after - bytes) > Math.floor(Math.min(after, bytes) / 16)) return null;
  }
  return { formatName: 'mp3', codec: 'mp3', sampleRate, channels: mono ? 1 : 2, samples: frames * (mpeg1 ? 1152 : 576) };
}

/** The tail of the GUID of WAVE_FORMAT_EXTENSIBLE's sub-formats (KSDATAFORMAT_SUBTYPE_…), after the format code. */
const SUBTYPE_TAIL = Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);

/**
 * The format code of the `fmt ` chunk at `at`: its own, or for
 * WAVE_FORMAT_EXTENSIBLE (ffmpeg writes it above two channels or 48 kHz) the
 * one in its sub-format GUID; null when that is unreadable.
 */
function pcmTag(head: Buffer, at: number, size: number): number | null {
  const tag = head.readUInt16LE(at + 8);
  if (tag !== 0xfffe) return tag;
  if (size < 40 || at + 8 + 40 > head.length || !head.subarray(at + 8 + 26, at + 8 + 40).equals(SUBTYPE_TAIL)) return null;
  return head.readUInt16LE(at + 8 + 24);
}

/** The headers of a 16-bit PCM WAV of `size` bytes from its first bytes: the `fmt ` chunk and the size of the `data` chunk. */
export function wavHeaders(head: Buffer, size: number): AudioHeaders | null {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return null;
  let format: { channels: number; sampleRate: number; blockAlign: number } | null = null;
  for (let at = 12; at + 8 <= head.length;) {
    const id = head.toString('latin1', at, at + 4);
    const length = head.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      if (at + 24 > head.length || length < 16) return null;
      const bits = head.readUInt16LE(at + 22);
      // PCM, 16-bit: what extract_audio writes (pcm_s16le); anything else is ffprobe's
      if (pcmTag(head, at, length) !== 1 || bits !== 16) return null;
      format = { channels: head.readUInt16LE(at + 10), sampleRate: head.readUInt32LE(at + 12), blockAlign: head.readUInt16LE(at + 20) };
    } else if (id === 'data') {
      if (!format || format.blockAlign !== 2 * format.channels || format.channels === 0) return null;
      // a streamed WAV's unknown size, or one the file does not hold: libavformat estimates instead
      if (length === 0xffffffff || at + 8 + length > size) return null;
      return {
        formatName: 'wav',
        codec: 'pcm_s16le',
        sampleRate: format.sampleRate,
        channels: format.channels,
        samples: Math.floor(length / format.blockAlign),
      };
    }
    at += 8 + length + (length & 1); // chunks are padded to an even length
  }
  return null;
}

/**
 * An MP3 or WAV output's MediaInfo as probe() builds it from ffprobe, from
 * its first bytes (64 KiB hold what ffmpeg writes) and its size; null when it
 * is left to ffprobe.
 */
export function describeAudio(format: 'mp3' | 'wav', head: Buffer, size: number): MediaInfo | null {
  const headers = format === 'mp3' ? mp3Headers(head, size) : wavHeaders(head, size);
  return headers ? mediaInfo(headers, size) : null;
}
