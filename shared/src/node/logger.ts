import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON-lines logger; every line carries the service name, job lines also `job_id`. */
export function createLogger(service: string, level: string): Logger {
  return pino({ level, base: { service, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
