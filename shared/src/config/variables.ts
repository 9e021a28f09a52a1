import { gatewayEnvSchema } from './gateway.js';
import { workerEnvSchema } from './worker.js';

/** The gateway's variables (for its deployment's consistency tests). */
export const GATEWAY_VARIABLES = Object.keys(gatewayEnvSchema.shape) as (keyof typeof gatewayEnvSchema.shape)[];
/** The worker's variables. */
export const WORKER_VARIABLES = Object.keys(workerEnvSchema.shape) as (keyof typeof workerEnvSchema.shape)[];
/** Every variable either service knows (for .env.example, the README table and the deployment consistency tests). */
export const CONFIG_VARIABLES = [...new Set([...GATEWAY_VARIABLES, ...WORKER_VARIABLES])];
