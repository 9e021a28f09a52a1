import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';

export type Uws = typeof UwsTypes;
export type { HttpResponse, WebSocket, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

/**
 * The npm builds of uWebSockets.js the gateway runs on, tried in this order
 * (docs/DEPLOYMENT.md, "Runtime"):
 * - `uWebSockets.js`: the name gateway/package.json installs, today as an
 *   alias of @trufflesuite/uws-js-unofficial (binaries up to Node 20, glibc
 *   2.36 is enough); pointing the alias at @btc-vision/uwebsockets.js moves
 *   the gateway to Node 22/24 without touching the code;
 * - `@btc-vision/uwebsockets.js` under its own name (binaries for Node 20-25,
 *   linked against glibc 2.38: Debian 13, not Debian 12).
 */
export const UWS_MODULES = ['uWebSockets.js', '@btc-vision/uwebsockets.js'] as const;

type Require = (id: string) => unknown;

/**
 * Loads the first of UWS_MODULES whose native binding loads, and refuses
 * the slow fallback: the trufflesuite build silently swaps in a pure-JS
 * `ws` shim when its binding does not load (wrong Node ABI, platform,
 * glibc), which would run the gateway at a fraction of its capacity. Throws
 * with each build's reason when none loads.
 */
export function loadUws(require: Require = createRequire(import.meta.url)): Uws {
  const refused: string[] = [];
  for (const name of UWS_MODULES) {
    let uws: unknown;
    try {
      uws = require(name);
    } catch (err) {
      refused.push(`${name}: ${notLoaded(err, name)}`);
      continue;
    }
    if (typeof uws === 'object' && uws !== null && isNativeUws(uws)) return uws as Uws;
    refused.push(`${name}: loaded its pure-JavaScript fallback instead of the native binding`);
  }
  throw new Error(
    `no native uWebSockets.js binding loads on Node ${process.version} (ABI ${process.versions.modules}, ` +
      `${process.platform}-${process.arch}, glibc ${glibcVersion() ?? 'none'}): ${refused.join('; ')}. ` +
      'The gateway needs the native binding: Node 20 for the uWebSockets.js build in gateway/package.json, ' +
      'or @btc-vision/uwebsockets.js on glibc 2.38 or later (docs/DEPLOYMENT.md, "Runtime"); do not set UWS_USE_FALLBACK.',
  );
}

/** The native module exports SSLApp and getParts; the fallback shim only App and a few helpers. */
export function isNativeUws(uws: object): boolean {
  const m = uws as Record<string, unknown>;
  return typeof m.SSLApp === 'function' && typeof m.getParts === 'function';
}

/** Why a build did not load, in one line: not installed, or the loader's own first line (a missing GLIBC_2.38, an unsupported ABI). */
function notLoaded(err: unknown, name: string): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'MODULE_NOT_FOUND' && e.message?.includes(`'${name}'`)) return 'not installed';
  const lines = String(e.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  // the btc-vision loader puts the dynamic linker's error (e.g. "GLIBC_2.38 not found") after its own sentence
  return lines.find((l) => /GLIBC|ABI|NODE_MODULE_VERSION/.test(l)) ?? lines[0] ?? 'failed to load';
}

/** The C library's version this process runs on (null off glibc), from Node's diagnostic report. */
function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}
