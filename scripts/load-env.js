// Loads `.env` from the repository root, when there is one, into this
// process's environment: `npm start` imports it, and `npm run start:gateway` /
// `start:worker` preload it (`node --import ./scripts/load-env.js`). Variables
// already set in the environment win over the file. Node 20's `--env-file`
// would fail when the file is missing, hence this. Containers do not read it:
// compose and Kubernetes pass the environment themselves.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('../.env', import.meta.url));
if (existsSync(file)) process.loadEnvFile(file);
