// GetPaidX browser pages: plain ES module, served from this origin (no CDN, no inline script).
// Every request goes to the same JSON API a script would use; the session cookie authenticates and
// writes carry the CSRF token. Text from the API is set with textContent, never as HTML.

const $ = (selector, root = document) => root.querySelector(selector);
let csrfToken = '';

class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message ?? `The server answered ${status}.`);
    this.status = status;
    this.code = error?.code ?? 'unknown';
    this.details = error?.details ?? {};
  }
}

/**
 * Calls the API; a sensitive act refused for want of a recent password or code check (sudo mode) asks
 * the person for one, then is sent again once. Cancelling gives the original refusal.
 */
async function api(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (err) {
    if (!(err instanceof ApiFailure) || err.code !== 'reauthentication_required' || !(await reauthenticate())) throw err;
    return send(method, path, body);
  }
}

/** Shows the sudo dialog until a check succeeds (true) or the person cancels (false). */
function reauthenticate() {
  const dialog = $('#sudo-dialog');
  if (!dialog) return Promise.resolve(false);
  const password = $('#sudo-password');
  const code = $('#sudo-code');
  const error = $('#sudo-error');
  password.value = '';
  code.value = '';
  error.textContent = '';
  return new Promise((resolve) => {
    const onSubmit = async (event) => {
      if (event.submitter?.value !== 'confirm') return;
      event.preventDefault();
      const answer = code.value.trim() ? { code: code.value.trim() } : { password: password.value };
      if (!answer.code && !answer.password) {
        error.textContent = 'Enter your password or a code.';
        password.focus();
        return;
      }
      try {
        await send('POST', '/api/auth/reauthenticate', answer);
        finish(true);
      } catch (err) {
        error.textContent = err.code === 'reauthentication_failed'
          ? (answer.code ? 'That code is wrong or was already used. Wait for the next one and try again.' : 'That password is not right.')
          : (PLAIN[err.code] ?? err.message);
        (answer.code ? code : password).select();
      }
    };
    const onClose = () => finish(false);
    function finish(ok) {
      dialog.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(ok);
    }
    dialog.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    password.focus();
  });
}

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiFailure(res.status, data?.error);
  return data;
}

/** Builds an element; children are nodes or text (never parsed as HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  return node;
}

function announce(message) {
  $('#page-status').textContent = message;
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/** Plain words for the errors a person can meet on these pages. */
const PLAIN = {
  invalid_credentials: 'That email and password do not match an account.',
  two_factor_code_required: 'Enter the 6-digit code from your authenticator app.',
  invalid_code: 'That code is wrong or was already used. Wait for the next one and try again.',
  rate_limited: 'Too many attempts. Wait a little and try again.',
  email_taken: 'An account with this email already exists. Sign in instead.',
  two_factor_required: 'Creating a token needs a browser signed in with a two-factor code.',
  reauthentication_required: 'This needs your password or a code from the last 10 minutes.',
  grant_exceeds_permissions: 'You asked for more than your own role allows.',
  empty_grant: 'Choose at least one scope or a role.',
  webhook_url_not_public: 'That address is not on the public internet; webhooks can only go to public https URLs.',
  invalid_webhook_url: 'Use an https URL without a user name or password in it.',
  webhook_url_unresolvable: 'That host name does not exist.',
};

function clearErrors(form) {
  for (const node of form.querySelectorAll('.error')) node.textContent = '';
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
}

/** The validator's words ("must NOT have fewer than 8 characters") as a person would say them. */
const RULES = [
  [/^must NOT have fewer than (\d+) characters$/, (n) => `needs at least ${n} characters`],
  [/^must NOT have more than (\d+) characters$/, (n) => `can have at most ${n} characters`],
  [/^must NOT have fewer than (\d+) items$/, (n) => `needs at least ${n}`],
  [/^must NOT have more than (\d+) items$/, (n) => `can have at most ${n}`],
  [/^must match format "email"$/, () => 'must be an email address, like name@example.com'],
  [/^must match format "uri"$/, () => 'must be a full web address, like https://example.com/hook'],
  [/^must match format "date-time"$/, () => 'must be a date and time'],
  [/^must have required property/, () => 'is required'],
  [/^must be equal to one of the allowed values$/, () => 'is not one of the choices'],
  [/^must be (>=|<=) (\S+)$/, (op, n) => (op === '>=' ? `must be at least ${n}` : `must be at most ${n}`)],
];

function plainValidation(label, message) {
  for (const [pattern, say] of RULES) {
    const match = pattern.exec(message);
    if (match) return `${label} ${say(...match.slice(1))}.`;
  }
  return `${label} is not valid.`;
}

/** Puts the error next to the control that caused it (from the validator's path), else under the form. */
function showError(form, err) {
  const first = err.details?.errors?.[0];
  const path = first?.path ?? '';
  const name = path.replace(/^\/body\//, '').split('/')[0];
  const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  const label = control ? (form.querySelector(`label[for="${CSS.escape(control.id)}"]`)?.textContent ?? name).replace(/\s*\(optional\)$/, '') : name;
  const message = PLAIN[err.code] ?? (err.code === 'validation_failed' && first ? plainValidation(label || 'This field', first.message ?? '') : err.message);
  const fieldError = control ? $(`#${control.id}-error`) ?? $(`#${control.closest('fieldset')?.id}-error`) : null;
  if (control && fieldError) {
    control.setAttribute('aria-invalid', 'true');
    fieldError.textContent = message;
    control.focus();
  } else {
    $('.form-error', form).textContent = message;
  }
}

function onSubmit(form, handler) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await handler(new FormData(form));
    } catch (err) {
      if (err instanceof ApiFailure) showError(form, err);
      else $('.form-error', form).textContent = 'The server could not be reached. Check your connection and try again.';
    } finally {
      button.disabled = false;
    }
  });
}

async function copy(source, button) {
  const text = 'value' in source ? source.value : source.textContent;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    if ('select' in source) source.select();
    document.execCommand('copy');
  }
  button.textContent = 'Copied';
  setTimeout(() => (button.textContent = label), 2000);
}

/** Pages behind sign-in: load the session (and its CSRF token) or go to the sign-in page. */
async function requireSession() {
  try {
    const session = await api('GET', '/api/auth/session');
    csrfToken = session.csrf_token;
    $('#sign-out')?.addEventListener('click', async () => {
      await api('DELETE', '/api/auth/session').catch(() => undefined);
      location.assign('/login');
    });
    return session;
  } catch {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    return new Promise(() => undefined);
  }
}

function nextPath() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  return /^\/settings\/[a-z]+$/.test(next) ? next : '/settings/api';
}

const STRENGTH_WORDS = ['Very easy to guess', 'Easy to guess', 'Still guessable', 'Strong enough', 'Very strong'];

/**
 * The strength meter: asks the server (checkPasswordStrength), which rates with the very rules sign-up
 * applies, so the meter never calls a password fine that sign-up then refuses. Asked once typing
 * pauses; an answer overtaken by newer typing is dropped.
 */
function strengthMeter(input, meter, text, personal) {
  let timer;
  let asked = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const password = input.value;
      const mine = (asked += 1);
      if (!password) {
        meter.value = 0;
        text.textContent = '';
        return;
      }
      try {
        const rating = await api('POST', '/api/auth/password-strength', { password, ...personal() });
        if (mine !== asked) return;
        meter.value = rating.score;
        const verdict = rating.too_long ? 'Too long: at most 72 bytes' : `${STRENGTH_WORDS[rating.score]}${rating.acceptable ? '' : ': choose another'}`;
        text.textContent = [verdict, rating.warning, ...rating.suggestions].filter(Boolean).join('. ').replace(/\.\./g, '.');
      } catch {
        text.textContent = '';
      }
    }, 250);
  });
}

const pages = {
  async signup() {
    const form = $('#signup-form');
    strengthMeter($('#signup-password'), $('#signup-password-meter'), $('#signup-password-strength'), () => ({ email: $('#signup-email').value, name: $('#signup-name').value }));
    onSubmit(form, async (data) => {
      const email = data.get('email');
      const password = data.get('password');
      const name = data.get('name');
      await api('POST', '/api/auth/signup', { email, password, ...(name ? { name } : {}) });
      await api('POST', '/api/auth/session', { email, password });
      location.assign('/settings/security');
    });
  },

  /** The link's token is in the fragment (never sent to a server); it is posted, then wiped from the address bar. */
  async 'verify-email'() {
    const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
    history.replaceState(null, '', location.pathname);
    const status = $('#verify-status');
    try {
      const user = await api('POST', '/api/auth/email/verify', { token });
      status.textContent = `Your email ${user.email} is verified.`;
    } catch {
      status.textContent = 'This link is not valid: it was used already, it expired, or it was cut short. Ask for a new one from your settings.';
    }
  },

  async login() {
    const form = $('#login-form');
    onSubmit(form, async (data) => {
      const body = { email: data.get('email'), password: data.get('password') };
      if (!$('#code-step').hidden) body.code = data.get('code');
      try {
        await api('POST', '/api/auth/session', body);
      } catch (err) {
        if (err instanceof ApiFailure && err.code === 'two_factor_code_required') {
          $('#code-step').hidden = false;
          $('#login-code').focus();
          announce('Enter the 6-digit code from your authenticator app.');
          return;
        }
        throw err;
      }
      location.assign(nextPath());
    });
  },

  async security() {
    const state = $('#twofa-state');
    const render = (enabled) => {
      state.textContent = enabled ? 'Two-factor authentication is on.' : 'Two-factor authentication is off. Turn it on to create access tokens.';
      $('#twofa-start').hidden = enabled;
    };
    $('#twofa-start').addEventListener('click', async () => {
      const setup = await api('POST', '/api/auth/2fa/setup');
      $('#twofa-qr').src = `data:image/svg+xml;base64,${btoa(setup.qr_svg)}`;
      $('#twofa-secret').textContent = setup.secret;
      $('#twofa-setup').hidden = false;
      $('#twofa-start').hidden = true;
      $('#twofa-code').focus();
    });
    onSubmit($('#twofa-form'), async (data) => {
      await api('POST', '/api/auth/2fa/enable', { code: data.get('code') });
      $('#twofa-setup').hidden = true;
      render(true);
      announce('Two-factor authentication is on. This browser counts as verified.');
    });
    onSubmit($('#password-form'), async (data) => {
      await api('POST', '/api/auth/password', { current_password: data.get('current_password'), new_password: data.get('new_password') });
      $('#password-form').reset();
      announce('Password changed. Your other sessions were signed out.');
    });
    const session = await requireSession();
    render(session.user.two_factor_enabled);
  },

  async api() {
    // Handlers first, so a quick click never falls through to a native form submission.
    onSubmit($('#token-form'), async (data) => {
      const scopes = data.getAll('scopes');
      const role = data.get('role');
      const expiry = data.get('expires_at');
      const created = await api('POST', '/api/tokens', {
        name: data.get('name'),
        ...(scopes.length ? { scopes } : {}),
        ...(role ? { role } : {}),
        ...(expiry ? { expires_at: new Date(`${expiry}T23:59:59Z`).toISOString() } : {}),
      });
      $('#token-form').reset();
      revealToken(created.token);
      await refreshTokens();
    });
    $('#copy-token').addEventListener('click', (e) => copy($('#new-token'), e.currentTarget));
    $('#copy-curl').addEventListener('click', (e) => copy($('#curl-example'), e.currentTarget));
    $('#token-reveal-done').addEventListener('click', () => hideReveal('#token-reveal', '#new-token'));

    onSubmit($('#webhook-form'), async (data) => {
      const created = await api('POST', '/api/webhooks/endpoints', { url: data.get('url'), events: data.getAll('events') });
      $('#webhook-form').reset();
      $('#new-webhook-secret').value = created.secret;
      $('#webhook-reveal').hidden = false;
      $('#webhook-reveal').focus();
      await refreshWebhooks();
    });
    $('#copy-webhook-secret').addEventListener('click', (e) => copy($('#new-webhook-secret'), e.currentTarget));
    $('#webhook-reveal-done').addEventListener('click', () => hideReveal('#webhook-reveal', '#new-webhook-secret'));

    const session = await requireSession();
    $('#twofa-notice').hidden = session.two_factor_verified;
    const catalog = await api('GET', '/api/programmatic/catalog');
    renderScopeChoices(catalog);
    await renderEventChoices();
    await Promise.all([refreshTokens(), refreshWebhooks()]);
  },
};

function hideReveal(panel, input) {
  $(input).value = '';
  if (panel === '#token-reveal') $('#curl-example').textContent = '';
  $(panel).hidden = true;
}

function revealToken(token) {
  $('#new-token').value = token;
  $('#curl-example').textContent = `curl -H "Authorization: Bearer ${token}" ${location.origin}/api/programmatic/catalog?callable=true`;
  $('#token-reveal').hidden = false;
  $('#token-reveal').focus();
}

function renderScopeChoices(catalog) {
  const box = $('#token-scopes');
  for (const group of catalog.scope_groups) {
    const set = el('fieldset', {}, el('legend', {}, group.name));
    for (const scope of group.scopes) {
      const id = `scope-${scope.name.replace(':', '-')}`;
      set.append(el('div', { class: 'scope' },
        el('input', { type: 'checkbox', id, name: 'scopes', value: scope.name, 'aria-describedby': `${id}-hint` }),
        el('label', { for: id }, scope.name),
        el('p', { class: 'hint', id: `${id}-hint` }, scope.description)));
    }
    box.insertBefore(set, $('#token-scopes-error'));
  }
  const roles = $('#token-role');
  for (const role of catalog.roles) roles.append(el('option', { value: role.name }, `${role.name}: ${role.description}`));
}

/**
 * The events an endpoint can subscribe to, from the contract this server serves (/openapi.json): the
 * WebhookEventType enum, each with the summary of its `webhooks:` entry. Nothing to keep in step by hand.
 */
async function renderEventChoices() {
  const res = await fetch('/openapi.json', { credentials: 'same-origin' });
  if (!res.ok) throw new Error('The list of webhook events could not be loaded. Reload the page to try again.');
  const contract = await res.json();
  const box = $('#webhook-events');
  for (const event of contract.components.schemas.WebhookEventType.enum) {
    const id = `event-${event.replace('.', '-')}`;
    const about = contract.webhooks?.[event]?.post?.summary?.replace(/^[\w.]+: /, '') ?? '';
    box.insertBefore(el('div', { title: about }, el('input', { type: 'checkbox', id, name: 'events', value: event }), ' ', el('label', { for: id }, event)), $('#webhook-events-error'));
  }
}

const cell = (label, ...content) => el('td', { 'data-label': label }, ...content);

async function refreshTokens() {
  const { data } = await api('GET', '/api/tokens?limit=100');
  const body = $('#token-table tbody');
  body.replaceChildren(...data.map((token) => el('tr', { 'data-token-id': token.id, class: expiresSoon(token) ? 'expiring' : '' },
    cell('Name', token.name),
    cell('Access', [...(token.role ? [`role ${token.role}`] : []), ...token.scopes].join(', ')),
    cell('Token', el('code', {}, token.display_hint)),
    cell('Created', when(token.created_at)),
    cell('Last used', token.last_used_at ? `${when(token.last_used_at)} from ${token.last_used_ip ?? 'unknown'}` : 'never', ...previousValue(token)),
    cell('Expires', ...expiry(token)),
    cell('Actions',
      el('button', { type: 'button', class: 'secondary', 'aria-label': `Rotate ${token.name}`, onclick: () => rotateToken(token) }, 'Rotate'),
      el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${token.name}`, onclick: () => revokeToken(token) }, 'Revoke')),
  )));
  if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 7 }, 'No tokens yet.')));
}

async function revokeToken(token) {
  if (!confirm(`Revoke “${token.name}”? Anything using it stops working at once.`)) return;
  try {
    await api('DELETE', `/api/tokens/${token.id}`);
    announce(`Token “${token.name}” was revoked.`);
    await refreshTokens();
  } catch (err) {
    announce(PLAIN[err.code] ?? err.message);
  }
}

const WEEK_MS = 7 * 24 * 3600 * 1000;
const expiresSoon = (token) => token.expires_at !== null && new Date(token.expires_at).getTime() - Date.now() < WEEK_MS;

/** Expiry you cannot miss: a token within 7 days of it says so, and its row is highlighted. */
function expiry(token) {
  if (!token.expires_at) return ['never'];
  const left = new Date(token.expires_at).getTime() - Date.now();
  if (left <= 0) return [el('strong', {}, 'Expired'), ` ${when(token.expires_at)}`];
  if (left >= WEEK_MS) return [when(token.expires_at)];
  const days = Math.floor(left / (24 * 3600 * 1000));
  return [el('strong', {}, days === 0 ? 'Expires today' : `Expires in ${days} day${days === 1 ? '' : 's'}`), ` ${when(token.expires_at)}`];
}

/** After a rotation with grace: the old value's last use tells which script has not switched yet. */
function previousValue(token) {
  const old = token.previous_value;
  if (!old) return [];
  const use = old.last_used_at
    ? `Old value still in use: last used ${when(old.last_used_at)} from ${old.last_used_ip ?? 'unknown'}`
    : 'Old value not used since the rotation';
  return [el('br'), el('span', { class: 'previous-value' }, `${use}; it stops working ${when(old.expires_at)}.`)];
}

function rotateToken(token) {
  const dialog = $('#rotate-dialog');
  $('#rotate-name').textContent = `“${token.name}”`;
  $('#rotate-grace').value = '0';
  dialog.returnValue = '';
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'rotate') return;
    try {
      const rotated = await api('POST', `/api/tokens/${token.id}/rotate`, { grace_seconds: Number($('#rotate-grace').value) });
      revealToken(rotated.token);
      await refreshTokens();
    } catch (err) {
      announce(PLAIN[err.code] ?? err.message);
    }
  }, { once: true });
  dialog.showModal();
}

async function refreshWebhooks() {
  const { data } = await api('GET', '/api/webhooks/endpoints?limit=100');
  const body = $('#webhook-table tbody');
  body.replaceChildren(...data.map((endpoint) => el('tr', { 'data-endpoint-id': endpoint.id },
    cell('URL', el('code', {}, endpoint.url)),
    cell('Events', endpoint.events.join(', ')),
    cell('Status', endpoint.enabled ? 'enabled' : `disabled${endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : ''}`),
    cell('Last error', endpoint.last_error ? `${endpoint.last_error} (${when(endpoint.last_error_at)})` : '—'),
    cell('Actions',
      el('button', { type: 'button', class: 'secondary', onclick: () => sendTest(endpoint) }, 'Send test'),
      el('button', { type: 'button', class: 'secondary', onclick: () => showDeliveries(endpoint) }, 'Deliveries'),
      el('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${endpoint.url}`, onclick: () => deleteEndpoint(endpoint) }, 'Delete')),
  )));
  if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 5 }, 'No endpoints yet.')));
}

async function sendTest(endpoint) {
  await api('POST', `/api/webhooks/endpoints/${endpoint.id}/test`);
  announce(`A test event is on its way to ${endpoint.url}.`);
  await showDeliveries(endpoint);
}

async function showDeliveries(endpoint) {
  const { data } = await api('GET', `/api/webhooks/endpoints/${endpoint.id}/deliveries?limit=10`);
  $('#deliveries-title').textContent = `Recent deliveries to ${endpoint.url}`;
  $('#delivery-table tbody').replaceChildren(...data.map((d) => el('tr', {},
    cell('Event', d.event_type), cell('Status', d.status), cell('Attempts', d.attempts),
    cell('Response', d.last_status_code ?? '—'), cell('When', when(d.created_at)), cell('Error', d.last_error ?? '—'))));
  if (data.length === 0) $('#delivery-table tbody').append(el('tr', {}, el('td', { colspan: 6 }, 'Nothing sent yet.')));
  $('#deliveries').hidden = false;
}

async function deleteEndpoint(endpoint) {
  if (!confirm(`Delete the endpoint ${endpoint.url}? Its delivery log goes with it.`)) return;
  await api('DELETE', `/api/webhooks/endpoints/${endpoint.id}`);
  $('#deliveries').hidden = true;
  announce('Endpoint deleted.');
  await refreshWebhooks();
}

// data-ready tells people's assistive tools nothing, but tells the browser tests the page is live.
const page = document.body.dataset.page;
if (pages[page]) {
  pages[page]()
    .catch((err) => announce(err.message))
    .finally(() => (document.body.dataset.ready = 'true'));
}
