import { newResumeToken, tokenJobId, tokenMatches } from './resume-token.js';

describe('resume tokens', () => {
  const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';

  it('name their job and match only their own digest, exactly', () => {
    const { token, digest } = newResumeToken(id);
    expect(tokenJobId(token)).toBe(id);
    expect(tokenMatches(token, digest)).toBe(true);
    expect(tokenMatches(`${token}x`, digest)).toBe(false);
    expect(tokenMatches(token.slice(0, -1), digest)).toBe(false);
    expect(tokenMatches(id, digest)).toBe(false);
    expect(tokenMatches('', digest)).toBe(false);
    expect(tokenMatches(token, newResumeToken(id).digest)).toBe(false);
  });

  it('store only a digest: the secret is not in it', () => {
    const { token, digest } = newResumeToken(id);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).not.toContain(token.slice(id.length + 1));
  });

  it('are refused when they are not tokens at all', () => {
    for (const t of ['', '.', 'abc', '.secret', 'id.']) expect(tokenJobId(t)).toBeNull();
  });

  it('name only ids the gateway could have made: never a long or odd routing key', () => {
    expect(tokenJobId(`${'€'.repeat(190)}.secret`)).toBeNull();
    expect(tokenJobId('@tenant.0011223344556677.x')).toBeNull();
    expect(tokenJobId('1B4E28BA-2FA1-11D2-883F-0016D3CCA427.secret')).toBeNull();
    expect(tokenJobId(`${id}.secret`)).toBe(id);
  });

  it('give every job a different secret', () => {
    const a = newResumeToken('j');
    const b = newResumeToken('j');
    expect(a.token).not.toBe(b.token);
    expect(a.digest).not.toBe(b.digest);
  });
});
