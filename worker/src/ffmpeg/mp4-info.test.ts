/**
 * describeMp4 against the real ffprobe: for each ISO-BMFF file ffmpeg makes
 * here, the in-process MediaInfo equals the one probe() builds from ffprobe's
 * answer, field by field; what it does not map is left to ffprobe (null).
 */
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { useTempDir } from '@media-foundry/test-support';
import { countTracks, describeMp4, describeMp4File, MAX_MOOV_BYTES, movieBoxSearchFrom, readMovieBox } from './mp4-info.js';
import { probe } from './probe.js';

const video = (rate = '25') => ['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${rate}:duration=2`];
const audio = (rate = 44100) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=2`];
const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast'];

/** Whether this ffmpeg has an encoder (libx265 is optional in builds). */
async function hasEncoder(name: string): Promise<boolean> {
  const { stdout } = await execa('ffmpeg', ['-hide_banner', '-encoders']);
  return new RegExp(`^ \\S+ ${name} `, 'm').test(stdout);
}

describe('describeMp4', () => {
  const dir = useTempDir('mp4-info-');
  const ffmpeg = (args: string[]) => execa('ffmpeg', ['-v', 'error', '-y', ...args]);

  const cases: [string, () => Promise<string[]>][] = [
    ['h264 + aac, faststart', async () => [...video(), ...audio(), ...h264, '-c:a', 'aac', '-movflags', '+faststart']],
    ['h264 + aac, moov at the end', async () => [...video(), ...audio(), ...h264, '-c:a', 'aac']],
    ['stereo 48 kHz aac', async () => [...video(), ...audio(48000), ...h264, '-c:a', 'aac', '-ac', '2']],
    ['video only', async () => [...video(), ...h264]],
    ['29.97 fps', async () => [...video('30000/1001'), ...h264]],
    ['a mov_text subtitle track', async () => [...video(), ...audio(), ...subtitleInput(), ...h264, '-c:a', 'aac', '-c:s', 'mov_text']],
  ];
  /** An SRT file as a third input. */
  const subtitleInput = () => ['-i', join(dir(), 'subs.srt')];

  beforeAll(async () => {
    await writeFile(join(dir(), 'subs.srt'), '1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:01,000 --> 00:00:02,000\nworld\n');
  });

  it.each(cases)('matches ffprobe for an mp4 with %s', async (_name, args) => {
    const path = join(dir(), `${_name.replace(/\W+/g, '-')}.mp4`);
    await ffmpeg([...(await args()), path]);
    const expected = await probe('ffprobe', path);
    expect(await describeMp4File(path)).toEqual(expected);
  });

  // where the picture ends (thumbnails and GIFs near the end seek by it): its edit list, or its media header without one
  it('matches ffprobe for a video shorter than its audio, cut or shortened with -c copy, and without an edit list', async () => {
    const long = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=5'];
    const shortVideo = join(dir(), 'short-video.mp4');
    await ffmpeg([...video('30000/1001'), ...long, '-c:v', 'libx264', '-c:a', 'aac', shortVideo]);
    const cut = join(dir(), 'cut.mp4');
    // not on a keyframe: the edit list starts and ends mid-frame
    await ffmpeg(['-ss', '0.52', '-i', shortVideo, '-t', '1.2', '-c', 'copy', cut]);
    // its media header says a frame more than its samples last, and its edit list more again
    const gop = join(dir(), 'gop.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30000/1001:duration=6', '-c:v', 'libx264', '-g', '30', gop]);
    const shortened = join(dir(), 'shortened.mp4');
    await ffmpeg(['-i', gop, '-t', '2', '-c', 'copy', shortened]);
    const noEdits = join(dir(), 'no-edit-list.mp4');
    await ffmpeg([...video(), ...long, ...h264, '-bf', '0', '-c:a', 'aac', '-use_editlist', '0', noEdits]);
    for (const path of [shortVideo, cut, shortened, noEdits]) {
      const expected = await probe('ffprobe', path);
      if (path === shortVideo || path === noEdits) expect(expected.video!.end).toBeLessThan(expected.duration! - 2);
      expect(await describeMp4File(path)).toEqual(expected);
    }
  });

  it.each([
    ['mov', [...video(), ...h264]],
    ['m4a', [...audio(), '-c:a', 'aac']],
    ['3gp', [...video(), ...h264]],
  ])('matches ffprobe for a .%s', async (ext, args) => {
    const path = join(dir(), `file.${ext}`);
    await ffmpeg([...args, path]);
    const expected = await probe('ffprobe', path);
    expect(expected.formatName).toBe('mov,mp4,m4a,3gp,3g2,mj2');
    expect(await describeMp4File(path)).toEqual(expected);
  });

  // ffmpeg's mov muxer writes AAC as QuickTime does: a version-1 sound description, its esds inside a `wave` box
  it.each([
    ['mono 44.1 kHz', 44100, 1],
    ['stereo 48 kHz', 48000, 2],
    ['5.1 at 48 kHz', 48000, 6],
  ])('matches ffprobe for a QuickTime .mov with %s aac', async (name, rate, channels) => {
    const path = join(dir(), `qt-${rate}-${channels}.mov`);
    await ffmpeg([...video(), ...audio(rate), ...h264, '-c:a', 'aac', '-ac', String(channels), path]);
    const bytes = await readFile(path);
    expect(bytes.includes('wave')).toBe(true);
    const expected = await probe('ffprobe', path);
    expect(expected.audio).toMatchObject({ codec: 'aac', sampleRate: rate, channels });
    expect(await describeMp4File(path)).toEqual(expected);
  });

  it('matches ffprobe for a rotated video (the tkhd matrix, as ffmpeg 5.1 writes `rotate` on a stream copy)', async () => {
    const plain = join(dir(), 'plain.mp4');
    await ffmpeg([...video(), ...audio(), ...h264, '-c:a', 'aac', plain]);
    for (const degrees of [90, 180, 270]) {
      const path = join(dir(), `rotated-${degrees}.mp4`);
      await ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', `rotate=${degrees}`, path]);
      const expected = await probe('ffprobe', path);
      expect(expected.video?.rotation).toEqual(expect.any(Number));
      expect(await describeMp4File(path)).toEqual(expected);
    }
  });

  it('matches ffprobe for hevc (libx265), when this ffmpeg has it', async () => {
    // libx265 is an optional part of ffmpeg builds: without it there is no hevc file to compare
    if (!(await hasEncoder('libx265'))) return;
    for (const tag of ['hev1', 'hvc1']) {
      const path = join(dir(), `hevc-${tag}.mp4`);
      await ffmpeg([
        ...video(),
        ...audio(),
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-x265-params',
        'log-level=error',
        '-tag:v',
        tag,
        '-c:a',
        'aac',
        path,
      ]);
      const expected = await probe('ffprobe', path);
      expect(await describeMp4File(path)).toEqual(expected);
    }
  });

  it('takes the movie header duration as ffmpeg does, whether the tracks last longer or shorter', async () => {
    const path = join(dir(), 'mvhd.mp4');
    await ffmpeg([...video(), ...audio(), ...h264, '-c:a', 'aac', '-movflags', '+faststart', path]);
    const bytes = await readFile(path);
    const mvhd = bytes.indexOf('mvhd') - 4;
    expect(bytes[mvhd + 8]).toBe(0); // version 0: timescale at +20, duration at +24
    for (const ms of [1000, 5000, 1234]) {
      bytes.writeUInt32BE(ms * (bytes.readUInt32BE(mvhd + 20) / 1000), mvhd + 24);
      const patched = join(dir(), `mvhd-${ms}.mp4`);
      await writeFile(patched, bytes);
      const expected = await probe('ffprobe', patched);
      expect(expected.duration).toBe(ms / 1000);
      expect(await describeMp4File(patched)).toEqual(expected);
    }
  });

  it.each([
    ['a webm', 'file.webm', [...video(), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8']],
    ['a matroska', 'file.mkv', [...video(), ...h264]],
    ['a PNG', 'still.png', [...video(), '-frames:v', '1']],
    ['a fragmented mp4', 'frag.mp4', [...video(), ...h264, '-movflags', 'frag_keyframe+empty_moov']],
    ['22.05 kHz aac (the decoder may find implicit SBR)', 'low.m4a', [...audio(22050), '-c:a', 'aac']],
    ['mp3 in mp4', 'mp3.mp4', [...audio(), '-c:a', 'libmp3lame']],
    // B-frames without an edit list: the first picture is shown late, by its composition offset
    ['a video with composition offsets and no edit list', 'late-start.mp4', [...video(), '-c:v', 'libx264', '-use_editlist', '0']],
    // above 65535 Hz QuickTime needs a version-2 sound description, not read here
    ['96 kHz aac in a QuickTime .mov', 'audio-96k.mov', [...video(), ...audio(96000), ...h264, '-c:a', 'aac']],
  ])('leaves %s to ffprobe', async (_name, file, args) => {
    const path = join(dir(), file);
    await ffmpeg([...args, path]);
    expect(await describeMp4File(path)).toBeNull();
  });

  it('leaves cover art and chapters to ffprobe', async () => {
    const plain = join(dir(), 'plain-audio.m4a');
    await ffmpeg([...audio(), '-c:a', 'aac', plain]);
    const cover = join(dir(), 'cover.png');
    await ffmpeg([...video(), '-frames:v', '1', cover]);
    const withCover = join(dir(), 'cover.m4a');
    await ffmpeg(['-i', plain, '-i', cover, '-map', '0', '-map', '1', '-c', 'copy', '-disposition:v', 'attached_pic', withCover]);
    expect(await describeMp4File(withCover)).toBeNull();
    const meta = join(dir(), 'chapters.txt');
    await writeFile(meta, ';FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=one\n');
    const withChapters = join(dir(), 'chapters.m4a');
    await ffmpeg(['-i', plain, '-i', meta, '-map_metadata', '1', '-map_chapters', '1', '-c', 'copy', withChapters]);
    expect(await describeMp4File(withChapters)).toBeNull();
  });

  it('leaves a truncated mp4 without its moov to ffprobe, which fails it as before', async () => {
    const path = join(dir(), 'cut.mp4');
    await ffmpeg([...video(), ...audio(), ...h264, '-c:a', 'aac', path]); // moov at the end
    const { length } = await readFile(path);
    await truncate(path, Math.floor(length / 2));
    expect(await describeMp4File(path)).toBeNull();
    await expect(probe('ffprobe', path)).rejects.toMatchObject({ code: 'JOB_FAILED' });
  });

  it('leaves garbage after an ftyp box to ffprobe, without throwing', async () => {
    const path = join(dir(), 'garbage.mp4');
    const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom'), Buffer.from([0, 0, 2, 0]), Buffer.from('isomiso2')]);
    const moov = Buffer.concat([Buffer.from([0, 0, 0, 40]), Buffer.from('moov'), Buffer.alloc(32, 0xff)]);
    await writeFile(path, Buffer.concat([ftyp, moov]));
    expect(await describeMp4File(path)).toBeNull();
  });

  it('never parses a box it does not read: sample counts a hostile file declares cannot make it allocate', async () => {
    const clean = join(dir(), 'clean.mp4');
    await ffmpeg([...video(), ...h264, '-movflags', '+faststart', clean]);
    const bytes = await readFile(clean);
    // four billion samples of one byte each, in the stsz (mp4box filled an array of them: a fatal V8 error
    // that aborted the worker) and in a box of that type put in place of the sample entry's avcC
    const bomb = (at: number, type: string) => {
      bytes.write(type, at + 4, 'latin1');
      bytes.writeUInt32BE(0, at + 8); // version, flags
      bytes.writeUInt32BE(1, at + 12); // sample_size
      bytes.writeUInt32BE(0xffffffff, at + 16); // sample_count
    };
    bomb(bytes.indexOf('stsz', 0, 'latin1') - 4, 'stsz');
    bomb(bytes.indexOf('avcC', 0, 'latin1') - 4, 'stsz');
    const hostile = join(dir(), 'hostile.mp4');
    await writeFile(hostile, bytes);
    // neither is read: the description is the clean file's
    expect(await describeMp4File(hostile)).toEqual(await describeMp4File(clean));
  });

  it('counts the trak boxes of a moov, and refuses a malformed child', () => {
    const box = (type: string, body: Buffer = Buffer.alloc(0)) => {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(8 + body.length);
      header.write(type, 4, 'latin1');
      return Buffer.concat([header, body]);
    };
    const moov = box('moov', Buffer.concat([box('mvhd', Buffer.alloc(100)), box('trak', box('tkhd')), box('udta'), box('trak')]));
    expect(countTracks(moov)).toBe(2);
    const broken = Buffer.from(moov);
    broken.writeUInt32BE(4, 8); // mvhd claims 4 bytes
    expect(countTracks(broken)).toBeNull();
    expect(countTracks(moov.subarray(0, moov.length - 3))).toBeNull();
  });

  it('reads no moov larger than MAX_MOOV_BYTES', async () => {
    const reads: [number, number][] = [];
    const size = 2 * MAX_MOOV_BYTES;
    const header = (at: number) => {
      const b = Buffer.alloc(16);
      if (at === 0) b.write('\u0000\u0000\u0000\u0010ftypisom', 0, 'latin1');
      else b.write('\u0000\u0000\u0000\u0000moov', 0, 'latin1'); // size 0: to the end of the file
      return b;
    };
    const read = async (start: number, end: number) => {
      reads.push([start, end]);
      return header(start).subarray(0, end - start);
    };
    expect(await readMovieBox(read, size)).toBeNull();
    expect(reads).toEqual([
      [0, 16],
      [16, 32],
    ]);
    expect(await describeMp4(read, size)).toBeNull();
  });
});

describe('movieBoxSearchFrom', () => {
  const dir = useTempDir('mp4-layout-');
  /** A top-level box header: 32-bit size, or size 1 and a 64-bit one. */
  const box = (type: string, size: number, large = false) => {
    const header = Buffer.alloc(large ? 16 : 8);
    header.writeUInt32BE(large ? 1 : size, 0);
    header.write(type, 4, 'latin1');
    if (large) header.writeBigUInt64BE(BigInt(size), 8);
    return header;
  };
  /** The file's first `length` bytes: the headers at their offsets, zeros between. */
  const head = (length: number, ...boxes: [number, Buffer][]) => {
    const bytes = Buffer.alloc(length);
    for (const [at, header] of boxes) header.copy(bytes, at);
    return bytes;
  };

  it('names where the box after a large mdat starts: where the moov of an MP4 written without faststart is', () => {
    const bytes = head(4096, [0, box('ftyp', 32)], [32, box('free', 8)], [40, box('mdat', 2_364_007)]);
    expect(movieBoxSearchFrom(bytes, 2_371_813)).toBe(2_364_047);
    // a 64-bit mdat size, as for files over 4 GiB
    const large = head(4096, [0, box('ftyp', 24)], [24, box('mdat', 5_000_000_000, true)]);
    expect(movieBoxSearchFrom(large, 5_000_100_000)).toBe(5_000_000_024);
  });

  it('names nothing when the moov (or a fragment) is in the head, or the file is not ISO-BMFF', () => {
    expect(movieBoxSearchFrom(head(4096, [0, box('ftyp', 32)], [32, box('moov', 1000)], [1032, box('mdat', 90_000)]), 91_032)).toBeNull();
    expect(movieBoxSearchFrom(head(4096, [0, box('ftyp', 32)], [32, box('moof', 1000)]), 900_000)).toBeNull();
    expect(movieBoxSearchFrom(head(4096, [0, box('mdat', 900_000)]), 901_000)).toBeNull();
    expect(movieBoxSearchFrom(Buffer.from('#EXTM3U\n#EXT-X-VERSION:3\n'.padEnd(4096, ' ')), 900_000)).toBeNull();
  });

  it('names nothing for a box that runs to the end, past the file, or is malformed', () => {
    expect(movieBoxSearchFrom(head(4096, [0, box('ftyp', 32)], [32, box('mdat', 0)]), 900_000)).toBeNull();
    expect(movieBoxSearchFrom(head(4096, [0, box('ftyp', 32)], [32, box('mdat', 2_000_000)]), 900_000)).toBeNull();
    expect(movieBoxSearchFrom(head(4096, [0, box('ftyp', 32)], [32, box('mdat', 4)]), 900_000)).toBeNull();
  });

  it('names the first header past a head that ends amid the boxes, and nothing before ftyp is seen whole', () => {
    expect(movieBoxSearchFrom(head(40, [0, box('ftyp', 32)]), 900_000)).toBe(32);
    expect(movieBoxSearchFrom(Buffer.alloc(10), 900_000)).toBeNull();
  });

  it('agrees with the walk readMovieBox makes on a real file without faststart', async () => {
    const path = join(dir(), 'late-moov.mp4');
    await execa('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=25',
      '-t',
      '4',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      path,
    ]);
    const file = await readFile(path);
    const offset = movieBoxSearchFrom(file.subarray(0, 16 * 1024), file.length);
    expect(offset).not.toBeNull();
    expect(file.toString('latin1', offset! + 4, offset! + 8)).toBe('moov');
  });
});
