/**
 * describeAudio against the real ffprobe: MP3 and WAV files made here as
 * `extract_audio` makes them, at each of the spec's sample rates and one,
 * two or six channels, described in-process equal the MediaInfo probe()
 * builds from ffprobe, field by field. What is left to ffprobe comes back null.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { useTempDir } from '@media-foundry/test-support';
import { describeAudio, mp3Headers, wavHeaders } from './audio-info.js';
import { probe } from './probe.js';

/** As the worker reads an output: its first 64 KiB and its size. */
async function describeAudioFile(format: 'mp3' | 'wav', path: string) {
  const bytes = await readFile(path);
  return describeAudio(format, bytes.subarray(0, 64 * 1024), bytes.length);
}

describe('describeAudio', () => {
  const dir = useTempDir('audio-info-');

  async function make(format: 'mp3' | 'wav', rate: number, channels: number, seconds: number, kbps = 192): Promise<string> {
    const path = join(dir(), `${rate}-${channels}-${seconds}.${format}`);
    const codec = format === 'mp3' ? ['-c:a', 'libmp3lame', '-b:a', `${kbps}k`] : ['-c:a', 'pcm_s16le'];
    await execa('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${seconds}`],
      ...['-ac', String(channels), ...codec, path],
    ]);
    return path;
  }

  // MPEG 1, 2 and 2.5 (1152 or 576 samples a frame), mono and stereo side information
  it.each([
    [8000, 1, 2.3, 32],
    [16000, 2, 0.3, 64],
    [22050, 2, 2.3, 64],
    [32000, 1, 10, 128],
    [44100, 2, 2.3, 192],
    [48000, 1, 2.3, 320],
  ])('matches ffprobe for an MP3 at %i Hz, %i channel(s), %d s, %i kbit/s', async (rate, channels, seconds, kbps) => {
    const path = await make('mp3', rate, channels, seconds, kbps);
    const described = await describeAudioFile('mp3', path);
    expect(described).not.toBeNull();
    expect(described).toEqual(await probe('ffprobe', path));
  });

  // plain PCM, and WAVE_FORMAT_EXTENSIBLE (above two channels or 48 kHz)
  it.each([
    [8000, 1, 2.3],
    [22050, 2, 0.3],
    [44100, 2, 10],
    [48000, 6, 2.3],
    [96000, 2, 2.3],
  ])('matches ffprobe for a WAV at %i Hz, %i channel(s), %d s', async (rate, channels, seconds) => {
    const path = await make('wav', rate, channels, seconds);
    const described = await describeAudioFile('wav', path);
    expect(described).not.toBeNull();
    expect(described).toEqual(await probe('ffprobe', path));
  });

  // at 16, 32, 48 and 96 kHz an odd number of samples lasts a whole number of microseconds and a half: rounded up, as libavformat does
  it.each([
    [16000, 1, 16005, 1.000313],
    [48000, 2, 48015, 1.000313],
    [96000, 2, 96006, 1.000063],
  ])('matches ffprobe for a WAV at %i Hz, %i channel(s), of %i samples (a half microsecond)', async (rate, channels, samples, seconds) => {
    const path = join(dir(), `tie-${rate}.wav`);
    await execa('ffmpeg', [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}`, '-af', `atrim=end_sample=${samples}`],
      ...['-ac', String(channels), '-c:a', 'pcm_s16le', path],
    ]);
    const described = await describeAudioFile('wav', path);
    expect(described?.duration).toBe(seconds);
    expect(described).toEqual(await probe('ffprobe', path));
  });

  it('leaves to ffprobe what libavformat would not take from the header: a WAV larger or smaller than its data chunk says, an MP3 larger than its Xing tag says', async () => {
    const wav = await make('wav', 44100, 2, 1);
    const bytes = await readFile(wav);
    // cut short, and streamed (the size left at its maximum)
    expect(describeAudio('wav', bytes.subarray(0, 64 * 1024), bytes.length - 1000)).toBeNull();
    const streamed = Buffer.from(bytes);
    streamed.writeUInt32LE(0xffffffff, streamed.indexOf('data') + 4);
    expect(describeAudio('wav', streamed.subarray(0, 64 * 1024), streamed.length)).toBeNull();
    // an MP3 with 2000 bytes more than its tag counts (ffprobe then estimates from the bitrate)
    const mp3 = await make('mp3', 44100, 1, 0.1, 128);
    const longer = join(dir(), 'longer.mp3');
    await writeFile(longer, Buffer.concat([await readFile(mp3), Buffer.alloc(2000)]));
    expect(await describeAudioFile('mp3', mp3)).toEqual(await probe('ffprobe', mp3));
    expect(await describeAudioFile('mp3', longer)).toBeNull();
    expect((await probe('ffprobe', longer)).duration).not.toBe((await probe('ffprobe', mp3)).duration);
  });

  it('leaves to ffprobe an MP3 without a Xing tag, another WAV encoding, and anything else', async () => {
    const noTag = join(dir(), 'no-tag.mp3');
    await execa('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'libmp3lame', '-write_xing', '0', noTag]);
    expect(await describeAudioFile('mp3', noTag)).toBeNull();
    const float = join(dir(), 'float.wav');
    await execa('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'pcm_f32le', float]);
    expect(await describeAudioFile('wav', float)).toBeNull();
    expect(mp3Headers(Buffer.from('ID3\x04\x00\x00\x00\x00\x7f\x7f', 'latin1'), 100_000)).toBeNull(); // a tag larger than the head
    expect(wavHeaders(Buffer.from('RIFF\x00\x00\x00\x00WAVEdata\x10\x00\x00\x00', 'latin1'), 36)).toBeNull(); // data before fmt
    expect(describeAudio('mp3', Buffer.from('not audio'), 9)).toBeNull();
    expect(describeAudio('wav', Buffer.from('not audio'), 9)).toBeNull();
  });
});
