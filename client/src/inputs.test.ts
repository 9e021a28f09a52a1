import { MAX_FILE_NAME_BYTES } from '@media-foundry/shared';
import { distinctNames, openPortableSource, rechunk, safeFileName } from './inputs.js';

async function collect(source: AsyncIterable<Uint8Array>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const chunk of source) sizes.push(chunk.length);
  return sizes;
}

async function* pieces(...sizes: number[]): AsyncGenerator<Uint8Array> {
  for (const size of sizes) yield new Uint8Array(size).fill(size % 256);
}

describe('rechunk', () => {
  it('cuts any pieces into chunks of exactly the size, the last shorter', async () => {
    expect(await collect(rechunk(pieces(3, 10, 1, 6), 4))).toEqual([4, 4, 4, 4, 4]);
    expect(await collect(rechunk(pieces(3, 10, 2), 4))).toEqual([4, 4, 4, 3]);
    expect(await collect(rechunk(pieces(), 4))).toEqual([]);
  });

  it('keeps the bytes in order', async () => {
    const out: number[] = [];
    for await (const chunk of rechunk(pieces(1, 2, 3), 4)) out.push(...chunk);
    expect(out).toEqual([1, 2, 2, 3, 3, 3]);
  });
});

describe('safeFileName', () => {
  it('drops paths and control characters', () => {
    expect(safeFileName('/home/me/talk.mp4', 0)).toBe('talk.mp4');
    expect(safeFileName('C:\\videos\\a.mov', 0)).toBe('a.mov');
    expect(safeFileName('a\nb.mp4', 0)).toBe('a_b.mp4');
    expect(safeFileName('..', 1)).toBe('input-2');
  });

  it('shortens from the front, keeping the extension', () => {
    const name = safeFileName(`${'é'.repeat(300)}.mp4`, 0);
    expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(name.endsWith('é.mp4')).toBe(true);
  });
});

describe('distinctNames', () => {
  it('prefixes repeated names with their position', () => {
    expect(distinctNames(['a.mp4', 'b.mp4', 'a.mp4'])).toEqual(['a.mp4', 'b.mp4', '3-a.mp4']);
  });
});

describe('openPortableSource', () => {
  it('reads a Blob in chunks, again after a restart', async () => {
    const source = await openPortableSource(new File([new Uint8Array(10)], 'clip.webm'), 0);
    expect(source).toMatchObject({ filename: 'clip.webm', size: 10, restartable: true });
    expect(await collect(source.chunks(4))).toEqual([4, 4, 2]);
    expect(await collect(source.chunks(4))).toEqual([4, 4, 2]);
  });

  it('reads a stream once', async () => {
    const source = await openPortableSource({ data: pieces(5, 5), filename: 'x.mp4' }, 0);
    expect(source.restartable).toBe(false);
    expect(await collect(source.chunks(4))).toEqual([4, 4, 2]);
    expect(() => source.chunks(4)).toThrow('can be read only once');
  });

  it('refuses a path outside Node with INPUT_ERROR', async () => {
    await expect(openPortableSource('/tmp/a.mp4', 0)).rejects.toMatchObject({ code: 'INPUT_ERROR' });
  });
});
