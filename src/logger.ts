import pino, { Logger } from 'pino';

/**
 * Credentials never reach the log: the request logger writes ids, never headers, bodies or query
 * strings, and the few top-level keys that could carry a secret are censored in case one is logged by
 * mistake (a test greps the captured log for every issued secret). Wildcard redaction is avoided: it
 * costs more per line than the rest of the request log.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ['authorization', 'cookie', 'password', 'token', 'secret'], censor: '[redacted]' },
    },
    // Asynchronous writes to stdout, so a slow log consumer never blocks a request.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
