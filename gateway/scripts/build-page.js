/**
 * Builds the browser demo page into gateway/dist/demo-page: the client
 * package's page (client/src/page/app.ts, bundled with esbuild for browsers
 * with the client, the shared schemas and zod) and its static files. Run by
 * `npm run build` (the root's postbuild), after tsc has built shared/.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = `${root}gateway/dist/demo-page`;
await mkdir(out, { recursive: true });
await build({
  entryPoints: [`${root}client/src/page/app.ts`],
  outfile: `${out}/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
for (const name of ['index.html', 'page.css']) await copyFile(`${root}client/page/${name}`, `${out}/${name}`);
