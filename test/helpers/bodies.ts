/** supertest parsers for non-JSON answers: the body as text, or as the exact bytes received. */
// superagent hands the raw Node response (an IncomingMessage) here, though its types call it Response.
type Parser = (res: any, done: (err: Error | null, body: any) => void) => void;

export const asText: Parser = (res, done) => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (data += chunk));
  res.on('end', () => done(null, data));
};

export const asBytes: Parser = (res, done) => {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};
