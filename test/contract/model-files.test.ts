/**
 * Contract of `GET /v1/models/{model}/files/{file}` over a stub context whose repository folder is
 * a temporary directory: the file with its type, length and validators, 304 on a matching
 * If-None-Match, the cross-origin resource policy, and refusals of paths outside the model folder.
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/http/app.ts';
import { DOUBLER } from '../helpers/fake-task-models.ts';
import { type StubOptions, stubContext } from '../helpers/stub-context.ts';

const root = mkdtempSync(path.join(tmpdir(), 'seqserve-contract-'));
const MANIFEST = '{"name": "tensor"}\n';
mkdirSync(path.join(root, 'tensor', 'sub'), { recursive: true });
writeFileSync(path.join(root, 'tensor', 'manifest.json'), MANIFEST);
writeFileSync(path.join(root, 'tensor', 'sub', 'vocab.json'), '["a", "b"]');
writeFileSync(path.join(root, 'tensor', '.secret'), 'no');
writeFileSync(path.join(root, 'outside.json'), '{}');
symlinkSync(path.join(root, 'outside.json'), path.join(root, 'tensor', 'escape.json'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function setup(config: StubOptions['config'] = {}) {
  const stub = stubContext({ config, root, models: [{ name: 'tensor', task: 'generic', taskModel: null, graphs: { doubler: DOUBLER } }] });
  return { app: createApp(stub.ctx), stub };
}

describe('GET /v1/models/{model}/files/{file}', () => {
  it('sends the file with its type, length, a strong ETag and no-cache, and 304 when the ETag matches', async () => {
    const { app } = setup();
    const res = await app.request('/v1/models/tensor/files/manifest.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-length')).toBe(String(MANIFEST.length));
    expect(res.headers.get('cache-control')).toBe('public, no-cache');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(await res.text()).toBe(MANIFEST);
    for (const match of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const cached = await app.request('/v1/models/tensor/files/manifest.json', { headers: { 'if-none-match': match } });
      expect(cached.status).toBe(304);
      expect(cached.headers.get('etag')).toBe(etag);
      expect(await cached.text()).toBe('');
    }
    expect(await (await app.request('/v1/models/tensor/files/sub/vocab.json')).json()).toEqual(['a', 'b']);
  });

  it('lets other origins embed the files when --cors-origins is set', async () => {
    const { app } = setup({ corsOrigins: ['https://app.example'] });
    const res = await app.request('/v1/models/tensor/files/manifest.json', { headers: { origin: 'https://app.example' } });
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/etag/);
  });

  it.each([
    ['a parent path', '/v1/models/tensor/files/..%2Foutside.json', 400, 'file'],
    ['a hidden file', '/v1/models/tensor/files/.secret', 400, 'file'],
    ['a symlink out of the folder', '/v1/models/tensor/files/escape.json', 404, 'file'],
    ['a missing file', '/v1/models/tensor/files/nope.onnx', 404, 'file'],
    ['a folder', '/v1/models/tensor/files/sub', 404, 'file'],
    ['an unknown model', '/v1/models/nope/files/manifest.json', 404, 'model'],
  ])("refuses %s in OpenAI's error shape naming the field", async (_, url, status, param) => {
    const { app } = setup();
    const res = await app.request(url);
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: status === 404 ? 'not_found_error' : 'invalid_request_error', param, code: status === 404 ? 'not_found' : 'invalid_argument' },
    });
  });
});
