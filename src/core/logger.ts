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
    destination ?? bufferedStdout(),
  );
}

/**
 * Log lines are gathered into 4 KB writes to stdout, flushed at least every 250 ms and on exit: one
 * write() per request line cost ~17 µs of a ~700 µs request here (measured with `npm run bench`).
 */
function bufferedStdout(): pino.DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => stream.flush(), 250).unref();
  return stream;
}
