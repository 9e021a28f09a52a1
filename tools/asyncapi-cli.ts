/**
 * `npm run asyncapi`: regenerates docs/asyncapi.yaml from the zod schemas
 * (the logic is in asyncapi.ts, which test/asyncapi.test.ts also runs).
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ASYNCAPI_FILE, renderAsyncApi } from './asyncapi.js';
import { ROOT } from './paths.js';

writeFileSync(ASYNCAPI_FILE, renderAsyncApi());
console.log(`wrote ${relative(ROOT, ASYNCAPI_FILE)}`);
