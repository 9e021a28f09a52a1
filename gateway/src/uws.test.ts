import { createRequire } from 'node:module';
import { isNativeUws, loadUws } from './uws.js';

describe('isNativeUws', () => {
  it('is true for the real uWebSockets.js module', () => {
    const uws = createRequire(import.meta.url)('uWebSockets.js') as object;
    expect(isNativeUws(uws)).toBe(true);
  });

  it('is false for an object shaped like the pure-JS fallback', () => {
    const fallback = {
      App() {},
      us_listen_socket_close() {},
      _cfg() {},
    };
    expect(isNativeUws(fallback)).toBe(false);
  });

  it('needs both SSLApp and getParts to be functions', () => {
    expect(isNativeUws({ SSLApp() {} })).toBe(false);
    expect(isNativeUws({ getParts() {} })).toBe(false);
    expect(isNativeUws({ SSLApp: true, getParts: true })).toBe(false);
    expect(isNativeUws({ SSLApp() {}, getParts() {} })).toBe(true);
    expect(isNativeUws({})).toBe(false);
  });
});

describe('loadUws', () => {
  it('loads the native binding on this Node', () => {
    const uws = loadUws();
    expect(typeof uws.App).toBe('function');
    expect(isNativeUws(uws)).toBe(true);
  });
});
