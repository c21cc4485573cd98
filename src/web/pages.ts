/** The HTML shells of the browser pages; assets/app.js fills them from the API. Nothing inline. */
interface Page {
  title: string;
  page: string;
  nav: boolean;
  body: string;
}

const NAV = `
  <nav aria-label="Settings">
    <a href="/settings/api">API</a>
    <a href="/settings/security">Security</a>
    <a href="/docs">Docs</a>
    <button type="button" id="sign-out" class="link">Sign out</button>
  </nav>`;

/**
 * Sudo mode: creating or rotating a token, changing 2FA, moving money and revoking all need a password
 * or code from the last 10 minutes. app.js opens this when the API answers reauthentication_required,
 * then retries the request.
 */
const SUDO_DIALOG = `
  <dialog id="sudo-dialog" aria-labelledby="sudo-title" aria-describedby="sudo-why">
    <form method="dialog" id="sudo-form" novalidate>
      <h2 id="sudo-title">Confirm it is you</h2>
      <p id="sudo-why">This is a sensitive action. Enter your password, or a code from your authenticator app, to continue. You will not be asked again for 10 minutes.</p>
      <div class="field">
        <label for="sudo-password">Password</label>
        <input id="sudo-password" name="password" type="password" autocomplete="current-password" aria-describedby="sudo-error">
      </div>
      <div class="field">
        <label for="sudo-code">Or a 6-digit code</label>
        <input id="sudo-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" aria-describedby="sudo-error">
      </div>
      <p class="error" id="sudo-error" role="alert"></p>
      <button type="submit" value="confirm">Confirm</button>
      <button type="submit" value="cancel" class="secondary" formnovalidate>Cancel</button>
    </form>
  </dialog>`;

function layout({ title, page, nav, body }: Page): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · GetPaidX</title>
  <link rel="stylesheet" href="/web/assets/app.css">
  <script type="module" src="/web/assets/app.js"></script>
</head>
<body data-page="${page}">
  <header>
    <a class="brand" href="/settings/api">GetPaidX</a>
    ${nav ? NAV : ''}
  </header>
  <main id="main">
    <h1>${title}</h1>
    <p id="page-status" role="status" aria-live="polite"></p>
${body}
  </main>${nav ? SUDO_DIALOG : ''}
</body>
</html>`;
}

const field = (id: string, label: string, input: string, hint = '') => `
      <div class="field">
        <label for="${id}">${label}</label>
        ${input}
        ${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ''}
        <p class="error" id="${id}-error" role="alert"></p>
      </div>`;

/** A secret shown once: its value in a read-only box with a copy button, and what to do next. */
const reveal = (name: string, title: string, inputId: string, label: string, extra = '') => `
      <div id="${name}-reveal" class="reveal" hidden tabindex="-1">
        <h3>${title}</h3>
        <p><strong>Copy it now. You will not see it again.</strong></p>
        <div class="copy-row">
          <label for="${inputId}" class="visually-hidden">${label}</label>
          <input id="${inputId}" readonly>
          <button type="button" id="copy-${inputId.replace(/^new-/, '')}">Copy</button>
        </div>${extra}
        <button type="button" id="${name}-reveal-done">I have stored it</button>
      </div>`;

export const PAGES: Record<string, string> = {
  '/signup': layout({
    title: 'Create your account', page: 'signup', nav: false, body: `
    <form id="signup-form" novalidate>
      ${field('signup-email', 'Email', '<input id="signup-email" name="email" type="email" autocomplete="email" required aria-describedby="signup-email-error">')}
      ${field('signup-name', 'Name (optional)', '<input id="signup-name" name="name" autocomplete="name" aria-describedby="signup-name-error">')}
      ${field('signup-password', 'Password', '<input id="signup-password" name="password" type="password" autocomplete="new-password" minlength="8" required aria-describedby="signup-password-hint signup-password-strength signup-password-error">', 'A passphrase of several uncommon words is best; common or guessable passwords are refused.')}
      <div class="strength" aria-live="polite"><meter id="signup-password-meter" min="0" max="4" low="2.5" high="3.5" optimum="4" value="0" aria-label="Strength"></meter> <span id="signup-password-strength"></span></div>
      <p class="error form-error" role="alert"></p>
      <button type="submit">Create account</button>
    </form>
    <p>Already have an account? <a href="/login">Sign in</a>.</p>`,
  }),

  '/login': layout({
    title: 'Sign in', page: 'login', nav: false, body: `
    <form id="login-form" novalidate>
      ${field('login-email', 'Email', '<input id="login-email" name="email" type="email" autocomplete="username" required aria-describedby="login-email-error">')}
      ${field('login-password', 'Password', '<input id="login-password" name="password" type="password" autocomplete="current-password" required aria-describedby="login-password-error">')}
      <div id="code-step" hidden>
        ${field('login-code', '6-digit code from your authenticator app', '<input id="login-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" aria-describedby="login-code-error">')}
      </div>
      <p class="error form-error" role="alert"></p>
      <button type="submit">Sign in</button>
    </form>
    <p>New here? <a href="/signup">Create an account</a>.</p>`,
  }),

  '/verify-email': layout({
    title: 'Verify your email', page: 'verify-email', nav: false, body: `
    <p id="verify-status" role="status">Checking your link…</p>
    <p><a href="/settings/api">Go to your settings</a>.</p>`,
  }),

  '/settings/security': layout({
    title: 'Security', page: 'security', nav: true, body: `
    <section aria-labelledby="twofa-title">
      <h2 id="twofa-title">Two-factor authentication</h2>
      <p id="twofa-state"></p>
      <button type="button" id="twofa-start" hidden>Set up two-factor authentication</button>
      <div id="twofa-setup" hidden>
        <p>Scan this code with your authenticator app, or type the secret in by hand.</p>
        <img id="twofa-qr" alt="QR code holding your two-factor secret" width="200" height="200">
        <p>Secret: <code id="twofa-secret"></code></p>
        <form id="twofa-form" novalidate>
          ${field('twofa-code', 'Code shown in the app', '<input id="twofa-code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required aria-describedby="twofa-code-error">')}
          <p class="error form-error" role="alert"></p>
          <button type="submit">Turn on two-factor authentication</button>
        </form>
      </div>
    </section>
    <section aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form id="password-form" novalidate>
        ${field('password-current', 'Current password', '<input id="password-current" name="current_password" type="password" autocomplete="current-password" required aria-describedby="password-current-error">')}
        ${field('password-new', 'New password', '<input id="password-new" name="new_password" type="password" autocomplete="new-password" minlength="8" required aria-describedby="password-new-hint password-new-error">', 'At least 8 characters. Your other sessions are signed out.')}
        <p class="error form-error" role="alert"></p>
        <button type="submit">Change password</button>
      </form>
    </section>`,
  }),

  '/settings/api': layout({
    title: 'API', page: 'api', nav: true, body: `
    <p>Scripts and agents read the <a href="/api/programmatic/catalog">catalog</a> to learn what they can call, and the <a href="/docs">docs</a> explain every operation.</p>
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Personal access tokens</h2>
      <p id="twofa-notice" class="notice" hidden>Creating a token needs a browser signed in with a two-factor code. <a href="/settings/security">Turn on two-factor authentication</a>, then sign out and in again with your code.</p>
      <form id="token-form" novalidate>
        ${field('token-name', 'Token name', '<input id="token-name" name="name" maxlength="100" required aria-describedby="token-name-hint token-name-error">', 'What the token is for, e.g. “nightly export”.')}
        <fieldset id="token-scopes" aria-describedby="token-scopes-error">
          <legend>Scopes: grant only what the job needs</legend>
          <p class="error" id="token-scopes-error" role="alert"></p>
        </fieldset>
        ${field('token-role', 'Or a role', '<select id="token-role" name="role" aria-describedby="token-role-hint token-role-error"><option value="">No role</option></select>', 'A role grants all its scopes; combine with the boxes above if you need more.')}
        ${field('token-expiry', 'Expires on (optional)', '<input id="token-expiry" name="expires_at" type="date" aria-describedby="token-expiry-hint token-expiry-error">', 'Leave empty for a token that never expires.')}
        <p class="error form-error" role="alert"></p>
        <button type="submit">Create token</button>
      </form>
      ${reveal('token', 'Your new token', 'new-token', 'New token', `
        <p id="curl-label">Try it from a terminal:</p>
        <pre id="curl-example" aria-labelledby="curl-label"></pre>
        <button type="button" id="copy-curl" class="secondary">Copy command</button>`)}
      <table id="token-table">
        <caption>Your tokens</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Access</th><th scope="col">Token</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
        <tbody></tbody>
      </table>
      <dialog id="rotate-dialog" aria-labelledby="rotate-title">
        <form method="dialog">
          <h3 id="rotate-title">Rotate <span id="rotate-name"></span></h3>
          <p>You get a new value, shown once. Anything using the old value must switch to it.</p>
          ${field('rotate-grace', 'Keep the old value working for', '<select id="rotate-grace" name="grace_seconds" aria-describedby="rotate-grace-hint rotate-grace-error"><option value="0" selected>No time: it stops now (choose this if it leaked)</option><option value="3600">1 hour</option><option value="86400">1 day</option><option value="604800">7 days</option></select>', 'Meanwhile its answers say it is deprecated, and this list shows when it was last used, so you can tell which script has not switched yet.')}
          <button type="submit" value="rotate">Rotate</button>
          <button type="submit" value="cancel" class="secondary">Cancel</button>
        </form>
      </dialog>
    </section>
    <section aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhook endpoints</h2>
      <form id="webhook-form" novalidate>
        ${field('webhook-url', 'Endpoint URL', '<input id="webhook-url" name="url" type="url" required placeholder="https://example.com/hooks/getpaidx" aria-describedby="webhook-url-hint webhook-url-error">', 'Must be https. We sign every delivery; see the docs to verify it.')}
        <fieldset id="webhook-events" aria-describedby="webhook-events-error">
          <legend>Events</legend>
          <p class="error" id="webhook-events-error" role="alert"></p>
        </fieldset>
        <p class="error form-error" role="alert"></p>
        <button type="submit">Add endpoint</button>
      </form>
      ${reveal('webhook', 'Signing secret', 'new-webhook-secret', 'Signing secret')}
      <table id="webhook-table">
        <caption>Your endpoints</caption>
        <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Last error</th><th scope="col">Actions</th></tr></thead>
        <tbody></tbody>
      </table>
      <div id="deliveries" hidden>
        <h3 id="deliveries-title">Recent deliveries</h3>
        <table id="delivery-table">
          <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Response</th><th scope="col">When</th><th scope="col">Error</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
    </section>`,
  }),
};
