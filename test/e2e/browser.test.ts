/**
 * Settings → API in a real browser: Debian's Chromium driven by playwright-core against the compiled
 * server. Sign up, enrol 2FA (codes computed here), sign in with a code, create a posts:read token, use
 * it, revoke it in the page, add a webhook endpoint and see its secret once. Screenshots of each step go
 * to test-results/. Skipped, with a message, only when Chromium is missing outside CI.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as OTPAuth from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { startReceiver } from '../helpers/receiver';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';
import { toolFor } from '../helpers/tools';

const executablePath = toolFor('the browser tests', 'chromium');
const describeBrowser = executablePath ? describe : describe.skip;

const shots = join(PROJECT_ROOT, 'test-results');
const dir = mkdtempSync(join(tmpdir(), 'gpx-browser-'));

describeBrowser('Settings → API in Chromium', () => {
  let browser: Browser;
  let page: Page;
  let base: string;
  let serverEnv: Record<string, string | undefined>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let step = 0;
  const shot = async (name: string) => {
    step += 1;
    await page.screenshot({ path: join(shots, `browser-${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  /** The page script has loaded what it shows and wired its forms. */
  const ready = () => page.locator('body[data-ready="true"]').waitFor();
  const email = `browser.${Date.now()}@example.com`;
  const password = 'a-long-browser-passphrase';
  let totp: OTPAuth.TOTP;

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    for (const old of readdirSync(shots).filter((f) => f.startsWith('browser-'))) rmSync(join(shots, old));
    receiver = await startReceiver();
    const server = await startCompiledServer(dir, { COOKIE_SECURE: 'false', WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '100' });
    base = server.url;
    serverEnv = server.env;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
    page.on('pageerror', (err) => console.log('browser error:', err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    killStartedProcesses();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs up and lands on Security, where 2FA is enrolled with a code', async () => {
    await page.goto(`${base}/signup`);
    await ready();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await shot('signup');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${base}/settings/security`);
    await ready();
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.locator('#twofa-setup').waitFor({ state: 'visible' });
    const secret = (await page.locator('#twofa-secret').textContent())!;
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(await page.locator('#twofa-qr').getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
    await shot('2fa-qr');
    totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
    await page.getByLabel('Code shown in the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await page.locator('#twofa-state', { hasText: 'Two-factor authentication is on.' }).waitFor();
    await shot('2fa-on');
  }, 30_000);

  it('signs out, and signs in again with password and then the code', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/login`);
    await ready();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#code-step').waitFor({ state: 'visible' });
    // The enrolment used this 30-second step's code; the next step's code is accepted too.
    await page.getByLabel('6-digit code from your authenticator app').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await shot('login-code');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/settings/api`);
    await ready();
    await page.locator('#twofa-notice').waitFor({ state: 'hidden' });
  }, 30_000);

  it('verifies the email from the mailed link, read with npm run mail:last, and wipes the token from the address bar', async () => {
    const printed = execFileSync(process.execPath, ['dist/src/cli/mail-last.js', email], { env: serverEnv as NodeJS.ProcessEnv, encoding: 'utf8' });
    expect(printed).toContain(`To: ${email}`);
    const link = /(http\S+\/verify-email#token=gpx_evt_[A-Za-z0-9]+)/.exec(printed)![1]!;
    await page.goto(`${base}${new URL(link).pathname}${new URL(link).hash}`);
    await page.locator('#verify-status', { hasText: 'is verified' }).waitFor();
    expect(page.url()).toBe(`${base}/verify-email`);
    // A used token, on a fresh load (a new fragment on the same page would not reload it).
    await page.goto('about:blank');
    await page.goto(link.replace(/^http\S+?\/verify-email/, `${base}/verify-email`));
    await page.locator('#verify-status', { hasText: 'not valid' }).waitFor();
    await page.goto(`${base}/settings/api`);
    await ready();
  }, 30_000);

  let token = '';
  it('explains a bad request next to the control, then creates a posts:read token shown once', async () => {
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.waitForFunction(() => ((globalThis as any).document.querySelector('#token-name-error')?.textContent ?? '') !== '');
    expect(await page.locator('#token-name').getAttribute('aria-invalid')).toBe('true');
    await shot('token-error');
    await page.getByLabel('Token name').fill('browser test');
    await page.getByLabel('posts:read').check();
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('#token-reveal').waitFor({ state: 'visible' });
    token = await page.locator('#new-token').inputValue();
    expect(token).toMatch(/^gpx_pat_/);
    expect(await page.locator('#token-reveal').textContent()).toContain('You will not see it again');
    expect(await page.locator('#curl-example').textContent()).toContain(`Authorization: Bearer ${token}`);
    await shot('token-created');
  }, 30_000);

  it('the token works from a script within its scope, and is refused beyond it', async () => {
    const catalog = await fetch(`${base}/api/programmatic/catalog`, { headers: { Authorization: `Bearer ${token}` } });
    expect(catalog.status).toBe(200);
    const listPosts = ((await catalog.json()) as any).operations.find((o: any) => o.operation_id === 'listPosts');
    expect(listPosts.callable).toBe(true);
    expect((await fetch(`${base}/api/posts`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const write = await fetch(`${base}/api/posts`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'nope' }) });
    expect(write.status).toBe(403);
    expect(((await write.json()) as any).error.details.missing_scopes).toEqual(['posts:write']);
  });

  it('rotates the token with a grace period: the old value still works, marked deprecated, and the list shows it in use', async () => {
    const row = page.locator('#token-table tbody tr', { hasText: 'browser test' });
    await row.getByRole('button', { name: 'Rotate browser test' }).click();
    const dialog = page.locator('#rotate-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByLabel('Keep the old value working for').selectOption({ label: '1 hour' });
    await shot('token-rotate');
    await dialog.getByRole('button', { name: 'Rotate', exact: true }).click();
    await page.waitForFunction((old) => {
      const value = (globalThis as any).document.querySelector('#new-token')?.value ?? '';
      return value.startsWith('gpx_pat_') && value !== old;
    }, token);
    const fresh = await page.locator('#new-token').inputValue();
    const old = await fetch(`${base}/api/posts`, { headers: { Authorization: `Bearer ${token}` } });
    expect(old.status).toBe(200);
    expect(old.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(old.headers.get('sunset')).toMatch(/GMT$/);
    expect((await fetch(`${base}/api/posts`, { headers: { Authorization: `Bearer ${fresh}` } })).status).toBe(200);
    await page.reload();
    await ready();
    await page.locator('#token-table tbody tr', { hasText: 'Old value still in use' }).waitFor();
    await shot('token-old-value-in-use');
  }, 30_000);

  it('highlights a token that expires within 7 days', async () => {
    await page.getByLabel('Token name').fill('expires soon');
    await page.getByLabel('posts:read').check();
    await page.getByLabel('Expires on (optional)').fill(new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Create token' }).click();
    const row = page.locator('#token-table tbody tr', { hasText: 'expires soon' });
    await row.waitFor();
    expect(await row.getAttribute('class')).toContain('expiring');
    expect(await row.textContent()).toMatch(/Expires in [12] days?/);
    expect(await page.locator('#token-table tbody tr', { hasText: 'browser test' }).getAttribute('class')).not.toContain('expiring');
    await shot('token-expiring');
  }, 30_000);

  it('asks for the password again when the sign-in is over 10 minutes old, then finishes what was asked (sudo mode)', async () => {
    // Ten minutes pass, as far as the server can tell: the session's last check is moved back.
    const db = new Database(serverEnv.DATABASE_URL!.replace(/^sqlite:/, ''));
    const age = () => db.prepare('UPDATE sessions SET authenticated_at = ?').run(new Date(Date.now() - 11 * 60_000).toISOString());
    const newToken = () => page.locator('#new-token').inputValue();
    try {
      age();
      const before = await newToken();
      await page.getByLabel('Token name').fill('after sudo');
      await page.getByLabel('posts:read').check();
      await page.getByRole('button', { name: 'Create token' }).click();
      const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
      await dialog.waitFor({ state: 'visible' });
      await dialog.getByLabel('Password').fill('not-my-password');
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      await dialog.locator('#sudo-error', { hasText: 'That password is not right.' }).waitFor();
      await shot('sudo-prompt');
      await dialog.getByLabel('Password').fill(password);
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // The refused request was sent again and made the token.
      await page.waitForFunction((old) => {
        const value = (globalThis as any).document.querySelector('#new-token')?.value ?? '';
        return value.startsWith('gpx_pat_') && value !== old;
      }, before);
      await page.locator('#token-table tbody tr', { hasText: 'after sudo' }).waitFor();

      // Cancelling the prompt leaves things as they were, and says why.
      age();
      await page.getByLabel('Token name').fill('never made');
      await page.getByLabel('posts:read').check();
      await page.getByRole('button', { name: 'Create token' }).click();
      await dialog.waitFor({ state: 'visible' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.locator('[role="alert"]', { hasText: 'password or a code from the last 10 minutes' }).first().waitFor();
      expect(await page.locator('#token-table tbody tr', { hasText: 'never made' }).count()).toBe(0);
    } finally {
      db.close();
    }
  }, 30_000);

  it('lists the token without its secret and revokes it; the next call fails', async () => {
    await page.reload();
    await ready();
    const row = page.locator('#token-table tbody tr', { hasText: 'browser test' });
    await row.waitFor();
    expect(await row.textContent()).toContain('posts:read');
    expect(await row.textContent()).toContain('from 127.0.0.1'); // last used: time and address
    expect(await page.content()).not.toContain(token);
    await shot('token-list');
    await row.getByRole('button', { name: 'Revoke browser test' }).click();
    await page.locator('#page-status', { hasText: 'was revoked' }).waitFor();
    await page.locator('#token-table tbody tr', { hasText: 'browser test' }).waitFor({ state: 'detached' });
    expect((await fetch(`${base}/api/posts`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    await shot('token-revoked');
  }, 30_000);

  it('adds a webhook endpoint, shows its secret once, and sends a test event', async () => {
    // The event choices are the contract's, not a copy in the page.
    const contract = (await (await fetch(`${base}/openapi.json`)).json()) as any;
    const offered = await page.locator('#webhook-events input[name="events"]').evaluateAll((nodes: any[]) => nodes.map((n) => n.value as string));
    expect(offered).toEqual(contract.components.schemas.WebhookEventType.enum);
    await page.getByLabel('Endpoint URL').fill(`${receiver.url}/hook`);
    await page.getByLabel('post.created').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.locator('#webhook-reveal').waitFor({ state: 'visible' });
    const secret = await page.locator('#new-webhook-secret').inputValue();
    expect(secret).toMatch(/^whsec_/);
    await shot('webhook-secret');
    await page.reload();
    await ready();
    expect(await page.content()).not.toContain(secret);
    const row = page.locator('#webhook-table tbody tr', { hasText: `${receiver.url}/hook` });
    await row.waitFor();
    expect(await row.textContent()).toContain('enabled');
    await row.getByRole('button', { name: 'Send test' }).click();
    await page.locator('#deliveries').waitFor({ state: 'visible' });
    await pollUntil(async () => receiver.received.length === 1);
    expect(JSON.parse(receiver.received[0]!.body).type).toBe('webhook.test');
    await shot('webhook-test');
  }, 30_000);

  it('sends the root to the settings when signed in', async () => {
    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/settings/api`);
  });

  it('never shows a settings page signed out, not even for a moment: the server sends the browser to sign in', async () => {
    const context = await browser.newContext();
    const anonymous = await context.newPage();
    const seen: Array<{ url: string; status: number }> = [];
    anonymous.on('response', (res) => seen.push({ url: res.url(), status: res.status() }));
    for (const path of ['/settings/api', '/settings/security']) {
      seen.length = 0;
      await anonymous.goto(`${base}${path}`);
      await anonymous.waitForURL(`${base}/login?next=${encodeURIComponent(path)}`);
      // The settings page itself answered only a redirect: no signed-in markup reached the browser.
      expect(seen.filter((r) => r.url === `${base}${path}`).map((r) => r.status)).toEqual([302]);
    }
    await anonymous.goto(`${base}/`);
    await anonymous.waitForURL(`${base}/login`);
    await context.close();
  }, 30_000);

  it('explains sign-up mistakes in words, next to the field', async () => {
    const context = await browser.newContext();
    const anonymous = await context.newPage();
    await anonymous.goto(`${base}/signup`);
    await anonymous.locator('body[data-ready="true"]').waitFor();
    await anonymous.getByLabel('Email').fill(`short.${Date.now()}@example.com`);
    await anonymous.getByLabel('Password').fill('short');
    await anonymous.getByRole('button', { name: 'Create account' }).click();
    const error = anonymous.locator('#signup-password-error');
    await error.filter({ hasText: /\S/ }).waitFor();
    expect(await error.textContent()).toBe('Password needs at least 8 characters.');
    expect(await anonymous.getByLabel('Password').getAttribute('aria-invalid')).toBe('true');
    await anonymous.getByLabel('Email').fill('not-an-email');
    await anonymous.getByLabel('Password').fill('a-long-enough-passphrase');
    await anonymous.getByRole('button', { name: 'Create account' }).click();
    await anonymous.locator('#signup-email-error').filter({ hasText: /\S/ }).waitFor();
    expect(await anonymous.locator('#signup-email-error').textContent()).toBe('Email must be an email address, like name@example.com.');
    expect(await anonymous.content()).not.toContain('/body/');
    await context.close();
  }, 30_000);

  it('rates the password while it is typed, with the rules sign-up applies', async () => {
    const context = await browser.newContext();
    const anonymous = await context.newPage();
    await anonymous.goto(`${base}/signup`);
    await anonymous.locator('body[data-ready="true"]').waitFor();
    const verdict = anonymous.locator('#signup-password-strength');
    await anonymous.getByLabel('Email').fill(`meter.${Date.now()}@example.com`);
    await anonymous.getByLabel('Password').fill('password1');
    await verdict.filter({ hasText: 'choose another' }).waitFor();
    expect(await anonymous.locator('#signup-password-meter').evaluate((meter) => (meter as unknown as { value: number }).value)).toBeLessThan(3);
    await anonymous.getByLabel('Password').fill('violet tundra marmalade quarrel');
    await verdict.filter({ hasText: /^(Strong enough|Very strong)/ }).waitFor();
    expect(await verdict.textContent()).not.toContain('choose another');
    await anonymous.screenshot({ path: join(shots, 'browser-strength-meter.png') });
    await context.close();
  }, 30_000);

  it('shows the docs with everything from this origin: no blocked asset, no request elsewhere', async () => {
    const context = await browser.newContext();
    const docs = await context.newPage();
    const elsewhere: string[] = [];
    const failed: string[] = [];
    const blocked: string[] = [];
    docs.on('request', (req) => {
      const url = req.url();
      if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) elsewhere.push(url);
    });
    docs.on('requestfailed', (req) => failed.push(`${req.url()} ${req.failure()?.errorText}`));
    docs.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) blocked.push(msg.text());
    });
    await docs.goto(`${base}/docs`);
    await docs.getByText('API docs by').waitFor();
    const badge = docs.locator('img[alt="redocly logo"]');
    await badge.waitFor();
    expect(await badge.getAttribute('src')).toMatch(/^data:image\/svg\+xml,/);
    expect(await badge.evaluate((img: any) => img.complete && img.naturalWidth > 0)).toBe(true);
    await docs.waitForTimeout(500);
    expect({ elsewhere, failed, blocked }).toEqual({ elsewhere: [], failed: [], blocked: [] });
    await context.close();
  }, 30_000);

  it('labels every control and stays usable on a narrow window', async () => {
    const unlabeled = await page.$$eval('input, select, button', (nodes: any[]) => nodes
      .filter((n) => n.offsetParent !== null)
      .filter((n) => {
        const el = n;
        if (el.tagName === 'BUTTON') return !(el.textContent?.trim() || el.getAttribute('aria-label'));
        return !(el.labels && el.labels.length > 0) && !el.getAttribute('aria-label');
      })
      .map((n) => n.outerHTML as string));
    expect(unlabeled).toEqual([]);
    // Keyboard: Tab reaches the first form control.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName as string)).toMatch(/A|BUTTON|INPUT/);
    await page.setViewportSize({ width: 375, height: 800 });
    const overflow = await page.evaluate(() => {
      const root = (globalThis as any).document.documentElement;
      return (root.scrollWidth - root.clientWidth) as number;
    });
    expect(overflow).toBeLessThanOrEqual(1);
    await shot('narrow');
  }, 30_000);
});

async function pollUntil(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
