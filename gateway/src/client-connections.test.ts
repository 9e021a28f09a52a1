import { ClientConnections } from './client-connections.js';

describe('ClientConnections', () => {
  it('admits up to max connections per client, each client on its own, and again after one closes', () => {
    const conns = new ClientConnections(2);
    expect([conns.admit('key:a'), conns.admit('key:a'), conns.admit('key:a')]).toEqual([true, true, false]);
    expect(conns.admit('key:b')).toBe(true);
    expect(conns.of('key:a')).toBe(2);
    conns.release('key:a');
    expect(conns.admit('key:a')).toBe(true);
    conns.release('key:a');
    conns.release('key:a');
    conns.release('key:b');
    expect([conns.of('key:a'), conns.of('key:b')]).toEqual([0, 0]);
  });
});
