/**
 * The bytes of a file sent as text (JSON bodies, KServe BYTES elements): a `data:` URL or plain
 * base64. Web URLs are refused: the server fetches nothing.
 */
import { invalidArgument } from '../core/errors.ts';

const DATA_URL = /^data:([a-z]+\/[a-z0-9.+-]+)?(;[a-z0-9-]+=[^;,]*)*;base64,/i;

/** `example` is the data: URL prefix the refusals suggest, e.g. `data:image/png;base64,`. */
export function bytesFromBase64Text(text: string, field: string, example: string): Uint8Array {
  let b64 = text.trim();
  if (/^https?:/i.test(b64)) throw invalidArgument(field, `web URLs are not fetched; send the file as a data: URL (${example}...)`);
  if (b64.startsWith('data:')) {
    const m = DATA_URL.exec(b64);
    if (!m) throw invalidArgument(field, `must be a base64 data: URL (${example}...)`);
    b64 = b64.slice(m[0].length);
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64.replace(/\s+/g, ''))) throw invalidArgument(field, 'is not valid base64');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
