import type { RequestHandler } from 'express';
import { fail, invalidInput } from '../core/errors';

/**
 * U+0000 is valid JSON and valid percent-encoding, but PostgreSQL text cannot hold it (SQLite can): let
 * it through and the same request is a 201 on one database and a crash on the other. So it is refused
 * at the edge, the same way on both, in bodies, paths and queries. Nothing legitimate needs it.
 */
export class NulInString extends SyntaxError {}

const NUL_MESSAGE = 'Strings may not contain the NUL character (U+0000).';

/** A JSON.parse reviver (body-parser's `reviver`): sees every key and string value once, as parsed. */
export function refuseNulInJson(key: string, value: unknown): unknown {
  if ((typeof value === 'string' && value.includes('\u0000')) || key.includes('\u0000')) throw new NulInString(NUL_MESSAGE);
  return value;
}

/** The raw URL still has its percent-encoding, so one substring test covers path and query alike. */
export const refuseNulInUrl: RequestHandler = (req, _res, next) => {
  if (req.url.includes('%00')) throw fail('invalid_path', 'The path and query may not contain the NUL character (%00).');
  next();
};

/** What a body refused by `refuseNulInJson` answers (the error handler maps `NulInString` to it). */
export const nulInBody = () => invalidInput('/body', NUL_MESSAGE, NUL_MESSAGE);
