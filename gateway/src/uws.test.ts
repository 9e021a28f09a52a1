import { createRequire } from 'node:module';
import { isNativeUws, loadUws, UWS_MODULES } from './uws.js';

/** The shape of the trufflesuite build's pure-JS fallback. */
const fallback = {
  App() {},
  us_listen_socket_close() {},
  _cfg() {},
};
const native = { App() {}, SSLApp() {}, getParts() {} };
const notInstalled = (name: string) => Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });

/** A `require` that answers each of UWS_MODULES as given: a module, or an error to throw. */
function fakeRequire(answers: Partial<Record<(typeof UWS_MODULES)[number], object | Error>>) {
  return (id: string): unknown => {
    const answer = answers[id as (typeof UWS_MODULES)[number]] ?? notInstalled(id);
    if (answer instanceof Error) throw answer;
    return answer;
  };
}

describe('isNativeUws', () => {
  it('is true for the real uWebSockets.js module', () => {
    const uws = createRequire(import.meta.url)('uWebSockets.js') as object;
    expect(isNativeUws(uws)).toBe(true);
  });

  it('is false for an object shaped like the pure-JS fallback', () => {
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

  it('takes the package.json build first, under its alias', () => {
    expect(loadUws(fakeRequire({ 'uWebSockets.js': native, '@btc-vision/uwebsockets.js': { ...native, second: true } }))).toBe(native);
  });

  it('takes @btc-vision/uwebsockets.js when it is what is installed', () => {
    expect(loadUws(fakeRequire({ '@btc-vision/uwebsockets.js': native }))).toBe(native);
  });

  it('passes over a build that fell back to JavaScript for one that is native', () => {
    expect(loadUws(fakeRequire({ 'uWebSockets.js': fallback, '@btc-vision/uwebsockets.js': native }))).toBe(native);
  });

  it('refuses to start on the fallback, naming each build and why it did not load', () => {
    const glibc = new Error(
      'This version of uWS.js (v20.57.0) supports only Node.js versions 20, 22, 24 and 25 on (glibc) Linux, macOS and Windows.\n\n' +
        "Error: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by uws_linux_x64_115.node)",
    );
    const load = () => loadUws(fakeRequire({ 'uWebSockets.js': fallback, '@btc-vision/uwebsockets.js': glibc }));
    expect(load).toThrow(/no native uWebSockets\.js binding loads on Node v\d+/);
    expect(load).toThrow('uWebSockets.js: loaded its pure-JavaScript fallback instead of the native binding');
    expect(load).toThrow("@btc-vision/uwebsockets.js: Error: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found");
    expect(load).toThrow('do not set UWS_USE_FALLBACK');
  });

  it('says which builds are not installed', () => {
    expect(() => loadUws(fakeRequire({}))).toThrow('uWebSockets.js: not installed; @btc-vision/uwebsockets.js: not installed');
  });
});
