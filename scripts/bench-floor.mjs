// The floor: a bare express 5 route doing only the work the hot path cannot skip — SHA-256 of the PAT,
// the same two prepared reads on the app's own SQLite file (token + creator, then the post), a scope
// check, and the same response headers the app sends. The gap between this and the app is what our
// pipeline stages cost; the gap between bare express and this is the work itself. It runs on the
// server `npm start` uses (src/http/server.ts), so the gap is our stages' alone.
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import express from 'express';

const require = createRequire(import.meta.url);
const { PAT_LOOKUP_SQL } = require('../dist/src/db/repositories/tokens.repository.js');
const { POST_BY_OWNER_SQL } = require('../dist/src/db/repositories/posts.repository.js');
const { createAppServer } = require('../dist/src/http/server.js');
const { BEARER_CREDENTIAL } = require('../dist/src/auth/authenticate.js');
const { hashToken } = require('../dist/src/auth/token-format.js');

const db = new Database(process.env.BENCH_DB, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const lookup = db.prepare(PAT_LOOKUP_SQL);
const postById = db.prepare(POST_BY_OWNER_SQL);
// Name → value of every header the app sent on the same call, except those express and Node set.
const headers = Object.entries(JSON.parse(process.env.BENCH_HEADERS ?? '{}'));

const app = express();
app.disable('x-powered-by');
app.get('/api/posts/:postId', (req, res) => {
  for (const [name, value] of headers) res.setHeader(name, value);
  const match = BEARER_CREDENTIAL.exec(req.headers.authorization ?? '');
  const token = match ? lookup.get(hashToken(match[1])) : undefined;
  if (!token || token.revoked_at || !JSON.parse(token.scopes).includes('posts:read')) return res.status(401).json({ error: 'unauthorized' });
  const post = postById.get(req.params.postId, token.user_id);
  if (!post) return res.status(404).json({ error: 'not_found' });
  res.json({
    id: post.id, title: post.title, body: post.body, status: post.status, audience_tags: JSON.parse(post.audience_tags),
    pricing: null, publish_at: post.publish_at, live: true, created_at: post.created_at, updated_at: post.updated_at,
  });
});
const server = createAppServer(app).listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
