/**
 * `npm run docs:operations`: regenerates docs/OPERATIONS.md from the zod
 * schemas and the worker's argument builders (the logic is in
 * operations-doc.ts, which test/operations-doc.test.ts also runs).
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { OPERATIONS_DOC_FILE, renderOperationsDoc } from './operations-doc.js';
import { ROOT } from './paths.js';

writeFileSync(OPERATIONS_DOC_FILE, renderOperationsDoc());
console.log(`wrote ${relative(ROOT, OPERATIONS_DOC_FILE)}`);
