import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout. Authorization headers never reach a log line. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'seqserve' },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization'], censor: '[redacted]' },
  });
}
