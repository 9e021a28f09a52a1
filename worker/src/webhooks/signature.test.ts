import { createHmac } from 'node:crypto';
import { parseSignatureHeader, signature, signatureHeader, signatureV2, verifySignature } from './signature.js';

const secret = 'a-webhook-secret-of-32-characters!';
const body = '{"type":"completed","job_id":"clip-42"}';
const eventId = '9b2f1c3a-55d0-4e8b-a1f2-0c3d4e5f6a7b';

describe('signature', () => {
  it('is the hex HMAC-SHA256 of "t.body" (v1) and of "t.event id.body" (v2)', () => {
    const v1 = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    const v2 = createHmac('sha256', secret).update(`1700000000.${eventId}.${body}`).digest('hex');
    expect(signature(secret, 1700000000, body)).toBe(v1);
    expect(signatureV2(secret, 1700000000, eventId, body)).toBe(v2);
    expect(signatureHeader(secret, body, 1700000000, eventId)).toBe(`t=1700000000,v1=${v1},v2=${v2}`);
  });

  it('differs with the time, the body, the event id and the secret', () => {
    const base = signatureV2(secret, 1700000000, eventId, body);
    expect(signatureV2(secret, 1700000001, eventId, body)).not.toBe(base);
    expect(signatureV2(secret, 1700000000, eventId, body + ' ')).not.toBe(base);
    expect(signatureV2(secret, 1700000000, eventId.replace('9', '8'), body)).not.toBe(base);
    expect(signatureV2(secret + 'x', 1700000000, eventId, body)).not.toBe(base);
    expect(signature(secret, 1700000001, body)).not.toBe(signature(secret, 1700000000, body));
  });
});

describe('parseSignatureHeader', () => {
  it('reads t and every v1 and v2, ignoring unknown schemes and spaces', () => {
    const v = 'ab'.repeat(32);
    const w = 'cd'.repeat(32);
    expect(parseSignatureHeader(`t=12, v1=${v},v3=zz,v2=${w},v1=${w}`)).toEqual({ timestamp: 12, v1: [v, w], v2: [w] });
  });

  it.each(['', 't=12', `v1=${'ab'.repeat(32)}`, `t=x,v1=${'ab'.repeat(32)}`, 't=12,v1=short', 't=12,v2=short'])('refuses %j', (header) => {
    expect(parseSignatureHeader(header)).toBeNull();
  });
});

describe('verifySignature', () => {
  const now = 1700000000;
  const header = signatureHeader(secret, body, now, eventId);

  it('accepts its own signature within the tolerance, by v2 with the event id and by v1 without', () => {
    expect(verifySignature(secret, header, body, now, { eventId })).toBe(true);
    expect(verifySignature(secret, header, body, now + 300, { eventId })).toBe(true);
    expect(verifySignature(secret, header, body, now)).toBe(true);
  });

  it('refuses another body, another secret, an old or future timestamp', () => {
    expect(verifySignature(secret, header, body.replace('42', '43'), now, { eventId })).toBe(false);
    expect(verifySignature('another-secret-of-32-characters!!!', header, body, now, { eventId })).toBe(false);
    expect(verifySignature(secret, header, body, now + 301, { eventId })).toBe(false);
    expect(verifySignature(secret, header, body, now - 301, { eventId })).toBe(false);
    expect(verifySignature(secret, header, body, now + 301)).toBe(false);
  });

  it('refuses a request replayed under another event id, and a header stripped of its v2', () => {
    expect(verifySignature(secret, header, body, now, { eventId: eventId.replace('9', '8') })).toBe(false);
    expect(verifySignature(secret, header.replace(/,v2=[0-9a-f]+/, ''), body, now, { eventId })).toBe(false);
  });

  it('accepts when any signature of the scheme matches (a receiver rotating secrets)', () => {
    const old = 'old-secret-of-32-characters-long!!';
    expect(verifySignature(secret, `t=${now},v1=${signature(old, now, body)},v1=${signature(secret, now, body)}`, body, now)).toBe(true);
    const both = `t=${now},v2=${signatureV2(old, now, eventId, body)},v2=${signatureV2(secret, now, eventId, body)}`;
    expect(verifySignature(secret, both, body, now, { eventId })).toBe(true);
  });
});
