/**
 * Requests Node's HTTP parser refuses before any route sees them (a malformed request line or
 * header, conflicting Content-Length and Transfer-Encoding, a bad chunk size, headers over the size
 * limit): answered with the server's JSON error body, as every other refusal is, instead of Node's
 * bare status line.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../core/errors.ts';
import { errorBody } from './error-response.ts';

/** Node's parser error codes that have their own status, as Node's own handler answers them (everything else is a 400). */
const STATUS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'the request line and headers are over the size limit'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large', 'the chunk extensions are over the size limit'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'the request was not received in time'],
};

export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } | null }) => {
    // as Node's own handler: no answer when the connection is gone, or when a response on it has
    // already started (an answer now would corrupt it); an earlier, finished response on a
    // keep-alive connection does not count
    if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, message] = STATUS[err.code ?? ''] ?? [400, 'Bad Request', `malformed HTTP request (${err.code ?? err.message})`];
    const body = JSON.stringify(errorBody('', invalidArgument('request', message)));
    // closed once written, whether or not the client closes its side (a half-open socket would hold a descriptor, and a route waiting for the body)
    const closing = setTimeout(() => socket.destroy(), 2000);
    closing.unref();
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () => {
      clearTimeout(closing);
      socket.destroy();
    });
  });
}
