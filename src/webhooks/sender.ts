import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { BlockedAddressError, guardedLookup, isPublicAddress } from './ssrf';

export interface SendResult {
  statusCode: number | null;
  retryAfterSeconds: number | null;
  durationMs: number;
  error: string | null;
  /** What the server logs beside `error` and never shows the endpoint's owner (a refused address). */
  detail?: string;
}

/**
 * POSTs one signed webhook. No redirects are followed (a 3xx is a failed attempt), the body of the
 * answer is read only up to 4 KB and ignored, and the whole exchange is bounded by `timeoutMs`.
 */
export function createSender(options: { allowPrivate: boolean; timeoutMs: number }) {
  const lookup = guardedLookup(options.allowPrivate);

  return function send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = process.hrtime.bigint();
    const elapsed = () => Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return resolve({ statusCode: null, retryAfterSeconds: null, durationMs: 0, error: 'The endpoint URL is not valid.' });
      }
      // An IP literal never goes through `lookup`, so it is checked here.
      const literal = target.hostname.replace(/^\[|\]$/g, '');
      if (!options.allowPrivate && isIP(literal) && !isPublicAddress(literal)) {
        const blocked = new BlockedAddressError(target.hostname, literal);
        return resolve({ statusCode: null, retryAfterSeconds: null, durationMs: 0, error: blocked.message, detail: blocked.detail });
      }
      const client = target.protocol === 'https:' ? https : http;
      const req = client.request(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'GetPaidX-Webhooks/1', ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: lookup as never,
        timeout: options.timeoutMs,
        agent: false,
      }, (res) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 4096) res.destroy();
        });
        const finish = () => {
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            statusCode: res.statusCode ?? null,
            retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null,
            durationMs: elapsed(),
            error: null,
          });
        };
        res.on('end', finish);
        res.on('close', finish);
      });
      const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
      req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs} ms`)));
      req.on('error', (err) => {
        clearTimeout(deadline);
        resolve({ statusCode: null, retryAfterSeconds: null, durationMs: elapsed(), error: err.message, detail: err instanceof BlockedAddressError ? err.detail : undefined });
      });
      req.on('close', () => clearTimeout(deadline));
      req.end(body);
    });
  };
}

export type Sender = ReturnType<typeof createSender>;
