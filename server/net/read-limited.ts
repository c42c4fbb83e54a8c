/** Reading an outbound response's body with a size limit, so a peer cannot make us buffer without end. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/** The whole body, or ResponseTooLargeError (the stream destroyed) once it passes `limitBytes`. */
export async function readLimited(body: Readable, headers: IncomingHttpHeaders, limitBytes: number): Promise<Buffer> {
  const tooLarge = () => {
    body.destroy();
    return new ResponseTooLargeError(`response body exceeds ${limitBytes} bytes`);
  };
  if (Number(headers['content-length']) > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > limitBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, length);
}
