import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from tools/dist/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
