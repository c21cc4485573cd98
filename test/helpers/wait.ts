/**
 * Polls `probe` (sync or async) every 50 ms until it gives a value other than undefined or false, and
 * answers it; fails naming `what` after `timeoutMs`. For what happens after an answer is sent
 * (a delivery, a revocation after a 202) or in another process.
 */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
