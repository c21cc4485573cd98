// The baseline: a bare express 5 app with one route returning a fixed JSON body.
import { createRequire } from 'node:module';
import express from 'express';

const require = createRequire(import.meta.url);

const body = JSON.parse(process.env.BENCH_BODY ?? '{}');
const app = express();
app.disable('x-powered-by');
app.get('/api/posts/:postId', (_req, res) => {
  res.json(body);
});
// BENCH_SHAPED=1: the same route on the server `npm start` uses (src/http/server.ts).
const server = (process.env.BENCH_SHAPED ? require('../dist/src/http/server.js').createAppServer(app) : app)
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
