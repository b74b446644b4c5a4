import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/** Paths that might hold a secret anywhere in a log line: censored before the line is written. */
export const REDACTED_PATHS = [
  'key',
  '*.key',
  'api_key.key',
  '*.api_key.key',
  'signing_secret',
  '*.signing_secret',
  'device_code',
  '*.device_code',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'headers.authorization',
];

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
}

/** Nest's logger interface over pino: one JSON line an event. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
  fatal(message: unknown, context?: string) {
    this.logger.fatal({ context }, String(message));
  }
}
