import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';

export type Uws = typeof UwsTypes;
export type { HttpResponse, WebSocket, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

/**
 * Loads uWebSockets.js and refuses the slow fallback. The npm build we use
 * (@trufflesuite/uws-js-unofficial) silently swaps in a pure-JS `ws` shim when
 * its native binding does not load (wrong Node ABI, platform, glibc); the
 * shim lacks the native-only exports checked here.
 */
export function loadUws(): Uws {
  const require = createRequire(import.meta.url);
  const uws = require('uWebSockets.js') as Uws;
  if (!isNativeUws(uws))
    throw new Error(
      'uWebSockets.js loaded its pure-JavaScript fallback instead of the native binding ' +
        `(Node ${process.version}, ABI ${process.versions.modules}, ${process.platform}-${process.arch}). ` +
        'The gateway needs the native binding: run it on Node 20 (see "engines" in package.json) on linux/darwin x64/arm64, ' +
        'and do not set UWS_USE_FALLBACK.',
    );
  return uws;
}

/** The native module exports SSLApp and getParts; the fallback shim only App and a few helpers. */
export function isNativeUws(uws: object): boolean {
  const m = uws as Record<string, unknown>;
  return typeof m.SSLApp === 'function' && typeof m.getParts === 'function';
}
