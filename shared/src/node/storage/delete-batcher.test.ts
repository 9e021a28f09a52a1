import { DeleteBatcher, type KeyFailure } from './delete-batcher.js';
import { StorageError } from './storage.js';

const slowDown = (key: string): KeyFailure => ({ key, error: new StorageError(`SlowDown ${key}`, { kind: 'transient' }) });
const denied = (key: string): KeyFailure => ({ key, error: new StorageError(`AccessDenied ${key}`, { kind: 'internal' }) });

/** A batcher over a fake store: records each request's keys and answers with `refuse(keys, requestIndex)`. */
function batcher(refuse: (keys: string[], n: number) => KeyFailure[] | Error = () => [], options = {}) {
  const requests: string[][] = [];
  const deletes = new DeleteBatcher(
    (keys) => {
      requests.push(keys);
      const answer = refuse(keys, requests.length - 1);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    { windowMs: 5, maxKeys: 3, attempts: 3, ...options },
  );
  return { deletes, requests };
}

describe('DeleteBatcher', () => {
  it('gathers the keys of calls made within its window into one request, once each', async () => {
    const { deletes, requests } = batcher();
    await Promise.all([deletes.delete(['a', 'b', 'a']), deletes.delete(['b'])]);
    expect(requests).toEqual([['a', 'b']]);
  });

  it('sends at most maxKeys a request, the first as soon as it is full', async () => {
    const { deletes, requests } = batcher(undefined, { windowMs: 60_000 });
    const first = deletes.delete(['a', 'b', 'c']);
    expect(requests).toEqual([['a', 'b', 'c']]); // full: no wait for the window
    await first;
    const rest = deletes.delete(['d']);
    await deletes.flush();
    await rest;
    expect(requests).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('does nothing for no keys', async () => {
    const { deletes, requests } = batcher();
    await deletes.delete([]);
    await deletes.flush();
    expect(requests).toEqual([]);
  });

  it('tries a transiently refused key again, in a later request, and only that key', async () => {
    const { deletes, requests } = batcher((keys, n) => (n === 0 ? [slowDown('b')] : []));
    await deletes.delete(['a', 'b']);
    expect(requests).toEqual([['a', 'b'], ['b']]);
  });

  it('gives up on a key after `attempts` tries, and rejects its caller alone with why', async () => {
    const { deletes, requests } = batcher((keys) => (keys.includes('b') ? [slowDown('b')] : []));
    const [mine, theirs] = await Promise.allSettled([deletes.delete(['a', 'b']), deletes.delete(['c'])]);
    expect(theirs.status).toBe('fulfilled');
    expect(mine).toMatchObject({ status: 'rejected', reason: { message: 'SlowDown b', kind: 'transient' } });
    expect(requests).toEqual([['a', 'b', 'c'], ['b'], ['b']]);
  });

  it('does not try again a key refused for good', async () => {
    const { deletes, requests } = batcher(() => [denied('a')]);
    await expect(deletes.delete(['a', 'b'])).rejects.toThrow('AccessDenied a');
    expect(requests).toEqual([['a', 'b']]);
  });

  it('tries a whole request again after a transient failure, and reports any other at once', async () => {
    const outage = batcher((keys, n) => (n === 0 ? new StorageError('connect ECONNREFUSED', { kind: 'transient' }) : []));
    await outage.deletes.delete(['a', 'b']);
    expect(outage.requests).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);

    const broken = batcher(() => new Error('not a storage error'));
    await expect(broken.deletes.delete(['a'])).rejects.toMatchObject({ kind: 'internal', message: 'Error: not a storage error' });
    expect(broken.requests).toEqual([['a']]);
  });

  it('serves a caller that asks for a key already being retried with the same request', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const requests: string[][] = [];
    const deletes = new DeleteBatcher(
      async (keys) => {
        requests.push(keys);
        if (requests.length === 1) {
          await gate;
          return [slowDown('a')];
        }
        return [];
      },
      { windowMs: 5, maxKeys: 10, attempts: 3 },
    );
    const first = deletes.delete(['a']);
    await new Promise((r) => setTimeout(r, 20)); // the first request is out
    const second = deletes.delete(['a']); // gathers while the first is refused
    release();
    await Promise.all([first, second]);
    expect(requests).toEqual([['a'], ['a']]);
  });

  it('tries a refused key again only after a pause of its window, also when flushed', async () => {
    const at: number[] = [];
    const deletes = new DeleteBatcher(
      () => {
        at.push(performance.now());
        return Promise.resolve(at.length === 1 ? [slowDown('a')] : []);
      },
      { windowMs: 60, maxKeys: 10, attempts: 3 },
    );
    let done = false;
    void deletes.delete(['a']).then(() => (done = true));
    expect(at).toEqual([]); // gathering
    await deletes.flush(); // sends at once, then waits out the pause and the retry
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(55);
    await Promise.resolve();
    expect(done).toBe(true);
  });

  it('counts a refusal that names none of the keys sent against all of them', async () => {
    const { deletes, requests } = batcher(() => [denied('(no key)')]);
    await expect(deletes.delete(['a', 'b'])).rejects.toThrow('AccessDenied (no key)');
    expect(requests).toEqual([['a', 'b']]);
  });
});
