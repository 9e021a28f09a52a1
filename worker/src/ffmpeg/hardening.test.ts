import { ffmpegEnvironment, guardInputs, inputGuards, MEDIA_DEMUXERS, oversizePicture } from './hardening.js';

describe('guardInputs', () => {
  const guard = ['-protocol_whitelist', 'file,pipe', '-format_whitelist', MEDIA_DEMUXERS.join(',')];

  it('puts the guards before every input, and nowhere else', () => {
    expect(guardInputs(['-ss', '1', '-i', '/a.mp4', '-i', '/b.srt', '-f', 'ogg', '/out.ogg'])).toEqual([
      '-ss',
      '1',
      ...guard,
      '-i',
      '/a.mp4',
      ...guard,
      '-i',
      '/b.srt',
      '-f',
      'ogg',
      '/out.ogg',
    ]);
  });

  it('allows the concat demuxer only for an input forced to it', () => {
    const args = guardInputs(['-f', 'concat', '-safe', '1', '-i', '/job/concat.txt', '-c', 'copy', '/out.mp4']);
    expect(args.slice(4, 8)).toEqual(['-protocol_whitelist', 'file,pipe', '-format_whitelist', `concat,${MEDIA_DEMUXERS.join(',')}`]);
    expect(inputGuards(undefined)[3]).not.toMatch(/\b(concat|hls|dash)\b/);
  });

  it('opens http only for an input the worker serves itself, and only for that input', () => {
    const served = 'http://127.0.0.1:40111/0123456789abcdef0123456789abcdef/input.mp4';
    const args = guardInputs(['-ss', '5', '-i', served, '-i', '/job/logo.png', '/out.png']);
    expect(args.slice(2, 4)).toEqual(['-protocol_whitelist', 'http,tcp']);
    expect(args.slice(6, 10)).toEqual(['-reconnect', '1', '-reconnect_delay_max', '0']);
    expect(args.slice(12, 14)).toEqual(['-protocol_whitelist', 'file,pipe']);
    // a client's URL, or a look-alike of the input server's, never gets a network protocol
    for (const other of [
      'https://example.com/a.mp4',
      'http://127.0.0.1:40111/a.mp4',
      'http://10.0.0.1:40111/0123456789abcdef0123456789abcdef/x',
    ])
      expect(inputGuards(undefined, undefined, other).slice(0, 2)).toEqual(['-protocol_whitelist', 'file,pipe']);
  });
});

describe('ffmpegEnvironment', () => {
  it("keeps what a process needs to run, and none of the worker's settings, credentials or proxy variables", () => {
    const env = {
      PATH: '/usr/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      http_proxy: 'http://proxy:3128',
      HTTPS_PROXY: 'x',
      No_Proxy: 'y',
      ALL_PROXY: 'z',
      AMQP_URL: 'amqp://user:secret@rabbitmq:5672',
      S3_SECRET_ACCESS_KEY: 'secret',
      AWS_SECRET_ACCESS_KEY: 'secret',
      WEBHOOK_SECRET: 'secret',
      NODE_OPTIONS: '--max-old-space-size=512',
    };
    expect(ffmpegEnvironment(env)).toEqual({ PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'UTC' });
  });
});

describe('pixel ceiling', () => {
  it('adds -max_pixels to every input when given, capped at what libavcodec takes', () => {
    expect(inputGuards(undefined, 33177600).slice(-2)).toEqual(['-max_pixels', '33177600']);
    expect(inputGuards(undefined, 5e9).slice(-2)).toEqual(['-max_pixels', '2147483647']);
    expect(guardInputs(['-i', '/a.png', '-i', '/b.png', '/out.mp4'], 100).filter((a) => a === '-max_pixels')).toHaveLength(2);
    expect(inputGuards(undefined)).not.toContain('-max_pixels');
  });

  it("reads the refused size from libavutil's message", () => {
    const stderr =
      '[png @ 0x55] [IMGUTILS @ 0x7ff] Picture size 16000x16000 exceeds specified max pixel count 33177600, see the documentation if you wish to increase it\n';
    expect(oversizePicture(stderr)).toEqual({ width: 16000, height: 16000, maxPixels: 33177600 });
    expect(oversizePicture('Invalid data found when processing input')).toBeNull();
  });
});
