import { esdsDecoderConfig, quickTimeDecoderConfig } from './quicktime-audio.js';

/** A box: size, type, body. */
const box = (type: string, ...body: Buffer[]) => {
  const content = Buffer.concat(body);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + content.length);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, content]);
};

/** A descriptor with a length in four 7-bit groups, as ffmpeg writes them. */
const descriptor = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, 0x80, 0x80, 0x80, body.length]), body]);

const ASC = Buffer.from([0x12, 0x10]); // AAC-LC, 44.1 kHz, stereo
const config = descriptor(0x04, Buffer.concat([Buffer.from([0x40, 0x15]), Buffer.alloc(11), descriptor(0x05, ASC)]));
const esdsBody = (esFlags = 0, extra = Buffer.alloc(0)) =>
  Buffer.concat([Buffer.alloc(4), descriptor(0x03, Buffer.concat([Buffer.from([0, 1, esFlags]), extra, config]))]);

/** An `mp4a` sound entry of `version` with `children` after its fields (QuickTime's layouts: 28 bytes, 16 more for version 1). */
const soundEntry = (version: number, ...children: Buffer[]) => {
  const fields = Buffer.alloc(version === 1 ? 44 : 28);
  fields.writeUInt16BE(1, 6); // data reference index
  fields.writeUInt16BE(version, 8);
  return box('mp4a', fields, ...children);
};

describe('quickTimeDecoderConfig', () => {
  it('finds the esds inside a version-1 entry’s wave box, past frma and the terminator', () => {
    const wave = box('wave', box('frma', Buffer.from('mp4a')), box('mp4a', Buffer.alloc(4)), box('esds', esdsBody()), Buffer.alloc(8));
    expect(quickTimeDecoderConfig(soundEntry(1, wave))).toEqual({ oti: 0x40, asc: ASC });
  });

  it('finds an esds that is a direct child, in version 0 too', () => {
    expect(quickTimeDecoderConfig(soundEntry(0, box('esds', esdsBody())))).toEqual({ oti: 0x40, asc: ASC });
  });

  it('reads nothing of a version-2 entry, another entry type or a child that runs past the end', () => {
    expect(quickTimeDecoderConfig(soundEntry(2, box('esds', esdsBody())))).toBeNull();
    const other = soundEntry(1, box('esds', esdsBody()));
    other.write('alac', 4, 'latin1');
    expect(quickTimeDecoderConfig(other)).toBeNull();
    const cut = soundEntry(1, box('esds', esdsBody()));
    cut.writeUInt32BE(9999, 52); // the esds claims more than the entry holds
    expect(quickTimeDecoderConfig(cut)).toBeNull();
  });
});

describe('esdsDecoderConfig', () => {
  it('skips the ES descriptor’s optional fields: a dependency, a URL, an OCR stream', () => {
    const url = Buffer.concat([Buffer.from([3]), Buffer.from('a:b')]);
    expect(esdsDecoderConfig(esdsBody(0x80 | 0x40 | 0x20, Buffer.concat([Buffer.from([0, 2]), url, Buffer.from([0, 3])])))).toEqual({
      oti: 0x40,
      asc: ASC,
    });
  });

  it('refuses descriptors cut short or of the wrong kind', () => {
    const whole = esdsBody();
    expect(esdsDecoderConfig(whole.subarray(0, whole.length - 1))).toBeNull();
    expect(esdsDecoderConfig(Buffer.concat([Buffer.alloc(4), descriptor(0x04, Buffer.alloc(20))]))).toBeNull();
  });
});
