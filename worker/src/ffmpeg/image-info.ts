/**
 * The size and codec of a still image ffmpeg just wrote (a thumbnail), read
 * from its header in-process: a second ffprobe would cost a process start
 * (~0.1 s, a fifth of a tiny job) to learn two numbers, and would report a
 * still's made-up frame rate (image2's 25) as if it were video.
 */

export interface StillImageInfo {
  /** ffprobe's codec name: `png` or `mjpeg`. */
  codec: 'png' | 'mjpeg';
  width: number;
  height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** JPEG start-of-frame markers (baseline, extended, progressive, lossless, …): not DHT (C4), JPG (C8) or DAC (CC). */
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** What `head` (the first bytes of the file) says; null when it is not a PNG or JPEG whose size can be read there. */
export function stillImageInfo(head: Buffer): StillImageInfo | null {
  if (head.length >= 24 && head.subarray(0, 8).equals(PNG_SIGNATURE) && head.toString('latin1', 12, 16) === 'IHDR') {
    const width = head.readUInt32BE(16);
    const height = head.readUInt32BE(20);
    return width > 0 && height > 0 ? { codec: 'png', width, height } : null;
  }
  if (head.length < 4 || head[0] !== 0xff || head[1] !== 0xd8) return null;
  // walk the marker segments to the first start-of-frame
  for (let at = 2; at + 9 <= head.length;) {
    if (head[at] !== 0xff) return null;
    const marker = head[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2; // markers without a length
      continue;
    }
    const length = head.readUInt16BE(at + 2);
    if (isStartOfFrame(marker)) {
      const height = head.readUInt16BE(at + 5);
      const width = head.readUInt16BE(at + 7);
      return width > 0 && height > 0 ? { codec: 'mjpeg', width, height } : null;
    }
    if (marker === 0xd9 || marker === 0xda || length < 2) return null; // end of image or scan data before any frame header
    at += 2 + length;
  }
  return null;
}
