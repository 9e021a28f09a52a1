import type { TrackedJob } from './job-registry.js';
import { JobRegistry, newResumeToken } from './job-registry.js';

function job(internalId: string, digest: Buffer): TrackedJob {
  return { internalId, resumeDigest: digest, expiry: null } as unknown as TrackedJob;
}

describe('JobRegistry resume tokens', () => {
  it('find the job only with the exact token', () => {
    const registry = new JobRegistry();
    const { token, digest } = newResumeToken('1b4e28ba-2fa1-11d2-883f-0016d3cca427');
    const tracked = job('1b4e28ba-2fa1-11d2-883f-0016d3cca427', digest);
    registry.add(tracked);
    expect(token.startsWith('1b4e28ba-2fa1-11d2-883f-0016d3cca427.')).toBe(true);
    expect(registry.byToken(token)).toBe(tracked);
    expect(registry.byToken(`${token}x`)).toBeNull();
    expect(registry.byToken(token.slice(0, -1))).toBeNull();
    expect(registry.byToken('1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBeNull();
    expect(registry.byToken('')).toBeNull();
    registry.delete(tracked);
    expect(registry.byToken(token)).toBeNull();
  });

  it('gives every job a different secret', () => {
    const a = newResumeToken('j');
    const b = newResumeToken('j');
    expect(a.token).not.toBe(b.token);
    expect(a.digest.equals(b.digest)).toBe(false);
  });
});
