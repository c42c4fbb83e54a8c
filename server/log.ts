/** Structured JSON logs (pino): one line per request and per notable event. */
import pino, { type Logger } from 'pino';
import type { Config } from './config/schema';

export type { Logger };

export function createLogger(level: Config['log_level']): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
