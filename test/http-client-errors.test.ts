/** Requests Node's HTTP parser refuses still get the server's JSON error body (server/http/client-errors.ts). */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { startTestServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
let models: string;

beforeAll(async () => {
  models = mkdtempSync(path.join(tmpdir(), 'seqserve-client-errors-'));
  symlinkSync(path.join(BUNDLED_MODELS_DIR, 'asr'), path.join(models, 'asr'));
  server = await startTestServer({ modelsDir: models });
});
afterAll(async () => {
  await server.close();
  rmSync(models, { recursive: true, force: true });
});

/** Sends raw bytes on a new connection; resolves with everything the server wrote before closing. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.httpPort, '127.0.0.1', () => socket.end(bytes));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

function parsed(response: string): { status: number; type: string; body: unknown } {
  const [head, body] = response.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), type: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '', body: JSON.parse(body) };
}

describe('requests the HTTP parser refuses', () => {
  it('answer JSON naming the request: malformed framing 400, oversized headers 431', async () => {
    const cases: [string, number, RegExp][] = [
      ['POST /v2/models/asr/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, /^request: malformed HTTP request \(HPE_/],
      ['POST /v2/models/asr/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, /^request: malformed HTTP request \(HPE_/],
      ['GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n', 400, /^request: malformed HTTP request/],
      [`GET /${'a'.repeat(60_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, /^request: the request line and headers are over the size limit$/],
    ];
    for (const [request, status, message] of cases) {
      const r = parsed(await raw(request));
      expect({ status: r.status, type: r.type }).toEqual({ status, type: 'application/json' });
      expect((r.body as { error: string }).error).toMatch(message);
    }
    expect((await fetch(`${server.http}/v2/health/live`)).status).toBe(200);
  });

  it('on a keep-alive connection after a good request too; then the server closes its socket though the client keeps its side open', async () => {
    const socket = connect({ port: server.httpPort, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined); // the write after the answer is refused: the server's socket is gone
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 100 && !out.includes('\r\n\r\n'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    out = '';
    socket.write('GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n');
    await ended;
    const r = parsed(out);
    expect({ status: r.status, type: r.type }).toEqual({ status: 400, type: 'application/json' });
    expect((r.body as { error: string }).error).toMatch(/^request: malformed HTTP request/);
    // a half-open server socket would read these silently and stay open; a closed one resets the
    // connection (the first write draws the reset, the second fails on it)
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 150));
      socket.write('more');
    }
    await closed;
  });

  it('a multipart type written in capitals is multipart (media types are case-insensitive)', async () => {
    const body = '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nasr\r\n--b--\r\n';
    const r = await fetch(`${server.http}/v1/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'Multipart/Form-Data; boundary=b' }, body });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { param: string } }).error.param).toBe('file'); // the form was read: the file part is missing
  });
});
