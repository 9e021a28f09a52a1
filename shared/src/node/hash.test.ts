import { sha256, sha256Hex } from './hash.js';

describe('sha256', () => {
  it('digests UTF-8 text as bytes and as hex', () => {
    // the NIST test vector for "abc"
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(sha256Hex('abc')).toBe(abc);
    expect(sha256('abc').toString('hex')).toBe(abc);
  });
});
