import { createHmac } from 'node:crypto';
import { parseSignatureHeader, signature, signatureHeader, verifySignature } from './signature.js';

const secret = 'a-webhook-secret-of-32-characters!';
const body = '{"type":"completed","job_id":"clip-42"}';

describe('signature', () => {
  it('is the hex HMAC-SHA256 of "t.body"', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signature(secret, 1700000000, body)).toBe(expected);
    expect(signatureHeader(secret, body, 1700000000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('differs with the time, the body and the secret', () => {
    const base = signature(secret, 1700000000, body);
    expect(signature(secret, 1700000001, body)).not.toBe(base);
    expect(signature(secret, 1700000000, body + ' ')).not.toBe(base);
    expect(signature(secret + 'x', 1700000000, body)).not.toBe(base);
  });
});

describe('parseSignatureHeader', () => {
  it('reads t and every v1, ignoring unknown schemes and spaces', () => {
    const v = 'ab'.repeat(32);
    const w = 'cd'.repeat(32);
    expect(parseSignatureHeader(`t=12, v1=${v},v2=zz,v1=${w}`)).toEqual({ timestamp: 12, v1: [v, w] });
  });

  it.each(['', 't=12', `v1=${'ab'.repeat(32)}`, `t=x,v1=${'ab'.repeat(32)}`, 't=12,v1=short'])('refuses %j', (header) => {
    expect(parseSignatureHeader(header)).toBeNull();
  });
});

describe('verifySignature', () => {
  const now = 1700000000;
  const header = signatureHeader(secret, body, now);

  it('accepts its own signature within the tolerance', () => {
    expect(verifySignature(secret, header, body, now)).toBe(true);
    expect(verifySignature(secret, header, body, now + 300)).toBe(true);
  });

  it('refuses another body, another secret, an old or future timestamp', () => {
    expect(verifySignature(secret, header, body.replace('42', '43'), now)).toBe(false);
    expect(verifySignature('another-secret-of-32-characters!!!', header, body, now)).toBe(false);
    expect(verifySignature(secret, header, body, now + 301)).toBe(false);
    expect(verifySignature(secret, header, body, now - 301)).toBe(false);
  });

  it('accepts when any v1 matches (a receiver rotating secrets)', () => {
    const other = signature('old-secret-of-32-characters-long!!', now, body);
    expect(verifySignature(secret, `t=${now},v1=${other},v1=${signature(secret, now, body)}`, body, now)).toBe(true);
  });
});
