import { SignJWT } from 'jose';
import { createAuthenticator, originAllowed, presentedToken } from './auth.js';

const KEY = 'k3y-0123456789abcdef';
const SECRET = 's'.repeat(40);

describe('presentedToken', () => {
  it('prefers the bearer header and falls back to ?token=', () => {
    expect(presentedToken('Bearer abc', 'token=zzz')).toBe('abc');
    expect(presentedToken('bearer   abc  ', '')).toBe('abc');
    expect(presentedToken('', 'a=1&token=x%2By')).toBe('x+y');
    expect(presentedToken('Basic Zm9v', '')).toBeNull();
  });
});

describe('createAuthenticator', () => {
  it('runs open when nothing is configured', async () => {
    const auth = createAuthenticator({ apiKeys: [] });
    expect(auth.enabled).toBe(false);
    expect(await auth.authenticate(null)).toEqual({ id: 'anonymous', kind: 'anonymous' });
  });

  it('accepts a configured key, naming the client by a digest of the key, and refuses others', async () => {
    const auth = createAuthenticator({ apiKeys: ['other-key-0123456789', KEY] });
    const principal = await auth.authenticate(KEY);
    expect(principal).toMatchObject({ kind: 'api_key' });
    expect(principal!.id).toMatch(/^key:[0-9a-f]{12}$/);
    expect(principal!.id).not.toContain(KEY);
    expect(await auth.authenticate(null)).toBeNull();
    expect(await auth.authenticate(KEY.slice(0, -1))).toBeNull();
    expect(await auth.authenticate(`${KEY}x`)).toBeNull();
  });

  it('answers every connection of a key (or with auth off) with the same principal, not a new one each', async () => {
    const auth = createAuthenticator({ apiKeys: [KEY] });
    expect(await auth.authenticate(KEY)).toBe(await auth.authenticate(KEY));
    const open = createAuthenticator({ apiKeys: [] });
    expect(await open.authenticate(null)).toBe(await open.authenticate(null));
  });

  it('accepts an HS256 JWT with a subject, and refuses expired, unsigned or foreign ones', async () => {
    const auth = createAuthenticator({ apiKeys: [], jwtSecret: SECRET });
    const secret = new TextEncoder().encode(SECRET);
    const good = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('user-7').setExpirationTime('5m').sign(secret);
    expect(await auth.authenticate(good)).toEqual({ id: 'jwt:user-7', kind: 'jwt' });
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret);
    expect(await auth.authenticate(expired)).toBeNull();
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .sign(new TextEncoder().encode('x'.repeat(40)));
    expect(await auth.authenticate(foreign)).toBeNull();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u"}').toString('base64url')}.`;
    expect(await auth.authenticate(none)).toBeNull();
    const noSubject = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(secret);
    expect(await auth.authenticate(noSubject)).toBeNull();
    // one that never expires is refused: nothing but a new JWT_SECRET could end it
    const forever = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setIssuedAt().sign(secret);
    expect(await auth.authenticate(forever)).toBeNull();
  });
});

describe('originAllowed', () => {
  it('checks browsers against the list; non-browsers send no Origin', () => {
    expect(originAllowed('https://app.example', [])).toBe(true);
    expect(originAllowed('https://app.example', ['https://app.example'])).toBe(true);
    expect(originAllowed('https://evil.example', ['https://app.example'])).toBe(false);
    expect(originAllowed('', ['https://app.example'])).toBe(true);
  });
});
