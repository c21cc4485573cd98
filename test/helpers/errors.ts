import type { Response } from 'supertest';

/** Shared expectations for the error envelope, so every test asserts the same shape. */
export function expectError(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.request_id).toMatch(/^req_/);
  expect(res.headers['x-request-id']).toBe(res.body.error.request_id);
}

export function expectChallenge(res: Response, error?: string): void {
  const header = res.headers['www-authenticate'] as string;
  expect(header).toMatch(/^Bearer realm="getpaidx"/);
  if (error) expect(header).toContain(`error="${error}"`);
  else expect(header).not.toContain('error=');
}
