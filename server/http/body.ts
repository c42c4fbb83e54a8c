/** Reads a request body as a JSON object, with the spec's errors for each failure. */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { badJson, MatrixError, notJson, tooLarge } from '../../spec/errors';

export async function readJsonObject(req: IncomingMessage, limitBytes: number): Promise<Record<string, unknown>> {
  let raw: string;
  try {
    raw = await getRawBody(req, { limit: limitBytes, encoding: 'utf8', length: req.headers['content-length'] });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw tooLarge(`Request body exceeds ${limitBytes} bytes`);
    if (type === 'request.aborted') throw new MatrixError(400, 'M_UNKNOWN', 'Request aborted');
    throw notJson('Request body could not be read');
  }
  if (raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw notJson();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badJson('Request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
