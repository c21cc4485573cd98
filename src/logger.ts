import pino, { Logger } from 'pino';

/**
 * Credentials never reach the log: headers are not logged at all, and the paths below are redacted
 * in case an object carrying them is logged by mistake. A test greps the captured log for secrets.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['authorization', 'cookie', 'password', 'token', 'req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
