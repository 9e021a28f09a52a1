import { rechunk } from './downloads.js';

async function collect(pieces: number[], size: number): Promise<number[]> {
  async function* source() {
    let v = 0;
    for (const n of pieces) yield new Uint8Array(Array.from({ length: n }, () => v++ % 256));
  }
  const out: Buffer[] = [];
  for await (const chunk of rechunk(source(), size)) out.push(chunk);
  const joined = Buffer.concat(out);
  // bytes arrive intact and in order
  expect([...joined]).toEqual(Array.from({ length: pieces.reduce((a, b) => a + b, 0) }, (_, i) => i % 256));
  return out.map((c) => c.length);
}

describe('rechunk', () => {
  it('cuts any input pieces into fixed-size chunks, the last one shorter', async () => {
    expect(await collect([3, 3, 3, 3], 5)).toEqual([5, 5, 2]);
    expect(await collect([12], 5)).toEqual([5, 5, 2]);
    expect(await collect([1, 1, 1, 1, 1], 5)).toEqual([5]);
    expect(await collect([10], 5)).toEqual([5, 5]);
    expect(await collect([], 5)).toEqual([]);
  });
});
