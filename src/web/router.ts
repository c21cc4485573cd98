import { resolve } from 'node:path';
import cookieParser from 'cookie-parser';
import express, { Request, Router } from 'express';
import helmet from 'helmet';
import { PAGES } from './pages';

/**
 * Settings → API, Security and sign-in pages, served by the same app. The pages are static shells;
 * assets/app.js talks to the API with the session cookie and the CSRF token. Scripts and styles come
 * only from this origin (CSP), nothing from a CDN.
 */
export function webRouter(projectRoot: string, signedIn: (req: Request) => Promise<boolean>): Router {
  const router = Router();
  const parseCookies = cookieParser();
  const withSession = async (req: Request) => {
    if (!req.headers.cookie) return false;
    await new Promise<void>((done) => parseCookies(req, {} as never, () => done()));
    return signedIn(req);
  };
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
  router.use(['/signup', '/login', '/verify-email', '/settings', '/web'], headers);
  router.use('/web/assets', express.static(resolve(projectRoot, 'src/web/assets'), { index: false, fallthrough: false, maxAge: '5m' }));
  // A browser at the root goes where it can do something: its settings when signed in, else sign-in.
  router.get('/', async (req, res) => {
    res.set('Cache-Control', 'no-store').redirect(302, (await withSession(req)) ? '/settings/api' : '/login');
  });
  router.get('/settings', (_req, res) => res.redirect(302, '/settings/api'));
  for (const [path, html] of Object.entries(PAGES)) {
    router.get(path, async (req, res) => {
      // Signed out, a settings page is never sent (not even for the moment before its script would
      // find out and leave): the server sends the browser to sign in, and back here afterwards.
      if (path.startsWith('/settings/') && !(await withSession(req))) {
        res.set('Cache-Control', 'no-store').redirect(302, `/login?next=${encodeURIComponent(path)}`);
        return;
      }
      res.set('Cache-Control', 'no-store').type('html').send(html);
    });
  }
  return router;
}
