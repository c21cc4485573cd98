import express, { RequestHandler } from 'express';
import { Contract, DEFAULT_BODY_LIMIT } from '../contract/spec';
import { fail } from '../core/errors';
import { refuseNulInJson } from './nul';

interface Parsers {
  json: RequestHandler;
  raw?: RequestHandler;
}

/** JSON carrying a file in base64 is a third larger than the file, plus room for the other fields. */
const base64Room = (bytes: number) => Math.ceil((bytes * 4) / 3) + 64 * 1024;

/**
 * Parses the body as the matched operation declares it: JSON up to 1 MB everywhere, and where an
 * operation takes files (`x-body-limit`, non-JSON media types) its raw bytes up to that limit and JSON
 * big enough for them in base64. Runs after authorization, so refused callers are never read.
 */
export function parseBody(contract: Contract): RequestHandler {
  const standard = express.json({ limit: DEFAULT_BODY_LIMIT, strict: true, reviver: refuseNulInJson });
  const special = new Map<string, Parsers>();
  // Signed webhooks are verified over the exact bytes received: keep them beside the parsed JSON.
  const keepRaw = express.json({ limit: DEFAULT_BODY_LIMIT, strict: true, reviver: refuseNulInJson, verify: (req, _res, buf) => { (req as { rawBody?: Buffer }).rawBody = buf; } });
  for (const op of contract.operations.values()) {
    if (op.modes.has('webhook')) {
      special.set(op.operationId, { json: keepRaw });
      continue;
    }
    if (op.bodyLimit === DEFAULT_BODY_LIMIT && op.rawMediaTypes.length === 0) continue;
    special.set(op.operationId, {
      json: express.json({ limit: base64Room(op.bodyLimit), strict: true, reviver: refuseNulInJson }),
      raw: op.rawMediaTypes.length > 0 ? express.raw({ type: [...op.rawMediaTypes], limit: op.bodyLimit }) : undefined,
    });
  }
  return (req, res, next) => {
    // Most calls are GETs without a body: no parser needs to look at them (the test is body-parser's own).
    if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return next();
    if (!req.operation!.acceptsBody) {
      // Nothing reads it, so nothing decodes it: a body here is a client's mistake, said plainly.
      if (req.headers['content-length'] === '0') return next();
      throw fail('body_not_allowed', `${req.operation!.operationId} takes no request body; send none.`);
    }
    const parsers = special.get(req.operation!.operationId);
    if (!parsers) return standard(req, res, next);
    parsers.json(req, res, (err?: unknown) => {
      if (err || !parsers.raw) return next(err);
      parsers.raw(req, res, next);
    });
  };
}
