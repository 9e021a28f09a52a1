import { localInputName } from './inputs.js';

describe('localInputName', () => {
  it.each([
    ['/a/b/clip.MP4', 'input.mp4'],
    ['clip.mkv', 'input.mkv'],
    ['/videos/archive.tar.gz', 'input.gz'],
    ['/media/v1.2/clip', 'input.bin'],
    ['no-extension', 'input.bin'],
    ['', 'input.bin'],
    ['trailing.', 'input.bin'],
    ['.webm', 'input.webm'],
    ['name.with spaces.m p4', 'input.bin'],
    ['clip.mp4%3Fx', 'input.bin'],
    ['evil.mp4/../../etc/passwd', 'input.bin'],
    ['evil.sh;rm -rf', 'input.bin'],
    ['vidéo.ñ', 'input.bin'],
    ['clip.abcdefghij', 'input.abcdefghij'],
    ['clip.abcdefghijk', 'input.bin'],
    ['CLIP.WebM', 'input.webm'],
  ])('%j → %s', (name, expected) => {
    expect(localInputName(name)).toBe(expected);
  });

  it('always yields a plain, safe file name', () => {
    for (const name of ['../../x.mp4', '/abs/path/.hidden', 'a\u0000b.mov', 'x.MOV\n', '....']) {
      expect(localInputName(name)).toMatch(/^input\.[a-z0-9]{1,10}$/);
    }
  });
});
