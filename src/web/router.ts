import { resolve } from 'node:path';
import express, { Router } from 'express';
import helmet from 'helmet';
import { PAGES } from './pages';

/**
 * Settings → API, Security and sign-in pages, served by the same app. The pages are static shells;
 * assets/app.js talks to the API with the session cookie and the CSRF token. Scripts and styles come
 * only from this origin (CSP), nothing from a CDN.
 */
export function webRouter(projectRoot: string): Router {
  const router = Router();
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'base-uri': ["'none'"],
        'object-src': ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
  });
  router.use(['/signup', '/login', '/settings', '/web'], headers);
  router.use('/web/assets', express.static(resolve(projectRoot, 'src/web/assets'), { index: false, fallthrough: false, maxAge: '5m' }));
  router.get('/settings', (_req, res) => res.redirect(302, '/settings/api'));
  for (const [path, html] of Object.entries(PAGES)) {
    router.get(path, (_req, res) => {
      res.set('Cache-Control', 'no-store').type('html').send(html);
    });
  }
  return router;
}
