// `npm run docs:build`: Redoc's page for generated/openapi.yaml → docs/build/index.html, with every
// script inlined so nothing is fetched from a CDN at view time. Redoc's "API docs by Redocly" badge
// still points its logo at cdn.redoc.ly, which the docs page's CSP (img-src 'self' data:) blocks and an
// offline machine cannot reach: the logo is written into the page as a data: URI instead, with the
// same attribution (the badge keeps its link to redocly.com).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './bundle.mjs';

const out = join(root, 'docs/build/index.html');
execFileSync(join(root, 'node_modules/.bin/redocly'), ['build-docs', 'generated/openapi.yaml', '--inlineBundle', '-o', out], {
  cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
});

const logo = (width, text) => `data:image/svg+xml,${encodeURIComponent(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="16" viewBox="0 0 ${width} 16" role="img" aria-label="Redocly">`
  + `<text x="0" y="12.5" font-family="system-ui, sans-serif" font-size="12" font-weight="700" fill="#1b1f24">${text}</text></svg>`,
)}`;
const LOGOS = {
  'https://cdn.redoc.ly/redoc/logo-mini-full.svg': logo(52, 'Redocly'),
  'https://cdn.redoc.ly/redoc/logo-mini.svg': logo(12, 'R'),
};
let html = readFileSync(out, 'utf8');
for (const [url, data] of Object.entries(LOGOS)) html = html.split(url).join(data);
// (Redoc also names icon-set bases on cdn.redocly.com, used only by specs that ask for icons; the browser
// test proves the page fetches nothing from another origin.)
if (html.includes('cdn.redoc.ly/')) {
  console.error('docs:build: Redoc changed how it loads its badge logo (cdn.redoc.ly is still in the page); update scripts/build-docs.mjs.');
  process.exit(1);
}
writeFileSync(out, html);
