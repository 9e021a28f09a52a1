import { guardInputs, inputGuards, MEDIA_DEMUXERS } from './hardening.js';

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
});
