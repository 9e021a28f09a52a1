// `npm start`: the gateway and one worker on this machine, sharing the `fs`
// storage directory. Production runs them separately (npm run start:gateway /
// start:worker); this is the laptop way. Ctrl-C stops both. `.env` in the
// repository root, if present, is read first (scripts/load-env.js).
import { spawn } from 'node:child_process';
import './load-env.js';

// no load balancer to wait for on a laptop: Ctrl-C closes at once
const env = { STORAGE_DRIVER: 'fs', SHUTDOWN_LEAD_SECONDS: '0', ...process.env };
const gatewayHealth = Number(env.HEALTH_PORT ?? 8081);
const services = [
  ['gateway', env],
  // both serve /health; the worker takes the next port
  ['worker', { ...env, HEALTH_PORT: String(env.WORKER_HEALTH_PORT ?? gatewayHealth + 1) }],
];

const children = services.map(([name, childEnv]) => spawn(process.execPath, [`${name}/dist/main.js`], { env: childEnv, stdio: 'inherit' }));
let exiting = false;
const stopAll = (signal) => {
  if (exiting) return;
  exiting = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
for (const child of children)
  child.on('exit', (code) => {
    if (!exiting) process.exitCode = code ?? 1;
    stopAll('SIGTERM');
  });
process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
