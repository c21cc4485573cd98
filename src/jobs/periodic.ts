import type { Logger } from 'pino';

/**
 * A pass that runs every `pollMs`, never two at once in this process; a failed pass is logged and the
 * next one retries. `stop` waits for the pass in hand. Safe with any number of processes only when
 * each pass is (the jobs built on it claim their work with conditional updates).
 */
export function periodic<T>(name: string, runOnce: () => Promise<T>, log: Logger, pollMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  return {
    runOnce,
    start(): void {
      timer ??= setInterval(() => {
        if (running) return;
        running = runOnce().then(() => undefined, (err: Error) => log.warn({ err: err.message }, `${name} pass failed; the next pass retries`))
          .finally(() => {
            running = undefined;
          });
      }, pollMs);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
