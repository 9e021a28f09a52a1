/**
 * The decoder config of an AAC track in a QuickTime sound entry, read from
 * the entry's bytes. ffmpeg's mov muxer, and many cameras and phones, write
 * AAC in a `.mov` as a version-1 sound description whose `esds` sits inside
 * a `wave` box (QuickTime's decompression parameters); mp4box reads the
 * entry's fields but none of its children, so mp4-info.ts finds the `esds`
 * here by walking box headers.
 */

/** An `esds`'s decoder config: the object type (0x40: MPEG-4 audio) and the AudioSpecificConfig. */
export interface DecoderConfig {
  oti: number;
  asc: Buffer;
}

/** Where the children of a sound description start, by its version (the QuickTime File Format's layouts); version 2 and others are not read. */
const CHILDREN_AT: Record<number, number> = { 0: 36, 1: 52 };

/** The child boxes of `bytes[from..to)`, by header; null when one runs past the end. */
function childBoxes(bytes: Buffer, from: number, to: number): { type: string; body: Buffer }[] | null {
  const boxes: { type: string; body: Buffer }[] = [];
  for (let at = from; at + 8 <= to;) {
    const size = bytes.readUInt32BE(at);
    // QuickTime ends a `wave` with a 4- or 8-byte zero terminator
    if (size === 0) break;
    if (size < 8 || at + size > to) return null;
    boxes.push({ type: bytes.toString('latin1', at + 4, at + 8), body: bytes.subarray(at + 8, at + size) });
    at += size;
  }
  return boxes;
}

/** A descriptor's tag, body and where the next one starts (ISO 14496-1: a tag, then a length in 7-bit groups). */
function descriptor(bytes: Buffer, at: number): { tag: number; body: Buffer; next: number } | null {
  if (at >= bytes.length) return null;
  const tag = bytes[at]!;
  let length = 0;
  let i = at + 1;
  for (let n = 0; n < 4; n++, i++) {
    if (i >= bytes.length) return null;
    length = (length << 7) | (bytes[i]! & 0x7f);
    if ((bytes[i]! & 0x80) === 0) break;
  }
  const start = i + 1;
  if (start + length > bytes.length) return null;
  return { tag, body: bytes.subarray(start, start + length), next: start + length };
}

/** The decoder config in an `esds` box's body (a full box: version and flags, then the ES descriptor). */
export function esdsDecoderConfig(esds: Buffer): DecoderConfig | null {
  const es = descriptor(esds, 4);
  if (!es || es.tag !== 0x03 || es.body.length < 3) return null;
  const flags = es.body[2]!;
  let at = 3;
  if (flags & 0x80) at += 2; // dependsOn_ES_ID
  if (flags & 0x40) at += 1 + (es.body[at] ?? 0); // URL
  if (flags & 0x20) at += 2; // OCR_ES_Id
  const config = descriptor(es.body, at);
  // object type, stream type, buffer size, max and average bitrates: 13 bytes, then the specific info
  if (!config || config.tag !== 0x04 || config.body.length < 13) return null;
  const specific = descriptor(config.body, 13);
  if (!specific || specific.tag !== 0x05) return null;
  return { oti: config.body[0]!, asc: specific.body };
}

/** The decoder config of a QuickTime `mp4a` sound entry (the whole box, header included): its own `esds`, or the one in its `wave`. */
export function quickTimeDecoderConfig(entry: Buffer): DecoderConfig | null {
  if (entry.length < 18 || entry.toString('latin1', 4, 8) !== 'mp4a') return null;
  const from = CHILDREN_AT[entry.readUInt16BE(16)];
  if (from === undefined) return null;
  const children = childBoxes(entry, from, entry.length);
  const wave = children?.find((b) => b.type === 'wave');
  const esds =
    children?.find((b) => b.type === 'esds') ??
    (wave ? childBoxes(wave.body, 0, wave.body.length)?.find((b) => b.type === 'esds') : undefined);
  return esds ? esdsDecoderConfig(esds.body) : null;
}
