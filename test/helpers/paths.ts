import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from test/dist/helpers/). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
