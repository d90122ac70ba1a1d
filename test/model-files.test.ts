/**
 * GET /v1/models/{model}/files/{file}: model files for clients that run models themselves, with
 * ETag revalidation, and confinement to the model folder (no traversal, no symlink escape).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { startTestServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
let root: string;

beforeAll(async () => {
  // a repository with the slots model, a secret beside it, and a symlink pointing out of the model folder
  root = mkdtempSync(path.join(tmpdir(), 'seqserve-files-'));
  cpSync(path.join(BUNDLED_MODELS_DIR, 'slots'), path.join(root, 'slots'), { recursive: true });
  // npm: references as prose (the description, what the model knows), not in file fields: not files the route serves
  const manifestPath = path.join(root, 'slots', 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, description: 'npm:zod/package.json', knows: { packages: ['npm:hono/package.json'] } }, null, 2));
  writeFileSync(path.join(root, 'secret.txt'), 'not for clients');
  symlinkSync(path.join(root, 'secret.txt'), path.join(root, 'slots', 'escape.json'));
  server = await startTestServer({ modelsDir: root });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** A GET with the path sent exactly as written (fetch would normalise "..", this does not). */
function get(rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(server.http);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: rawPath, headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /v1/models/{model}/files/{file}', () => {
  it('serves model files with an ETag, and 304 when the client has them', async () => {
    const manifest = await get('/v1/models/slots/files/manifest.json');
    expect(manifest.status).toBe(200);
    expect(manifest.headers['content-type']).toMatch(/application\/json/);
    expect(manifest.headers['cache-control']).toBe('public, no-cache');
    expect(JSON.parse(manifest.body).name).toBe('slots');
    const etag = String(manifest.headers.etag);
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await get('/v1/models/slots/files/manifest.json', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const graph = await get('/v1/models/slots/files/tagger.onnx');
    expect(graph.status).toBe(200);
    expect(Number(graph.headers['content-length'])).toBe(graph.body.length);
  });

  it('stays inside the model folder', async () => {
    for (const p of [
      '../secret.txt',
      '..%2fsecret.txt',
      '%2e%2e/secret.txt',
      '%2e%2e%2fsecret.txt',
      'recipe/../../secret.txt',
      '%252e%252e%252fsecret.txt',
      '.hidden',
      'a\\..\\secret.txt',
    ]) {
      const r = await get(`/v1/models/slots/files/${p}`);
      expect([400, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('not for clients');
    }
    const escape = await get('/v1/models/slots/files/escape.json');
    expect(escape.status).toBe(404);
    expect(escape.body).not.toContain('not for clients');
    expect((await get('/v1/models/nope/files/manifest.json')).status).toBe(404);
    expect((await get('/v1/models/slots/files/missing.onnx')).status).toBe(404);
    // npm: files the manifest mentions only in its description and knows
    for (const file of ['npm:zod/package.json', 'npm:hono/package.json']) {
      const npm = await get(`/v1/models/slots/files/${file}`);
      expect(npm.status, file).toBe(404);
      expect(npm.body, file).not.toContain('"version"');
    }
    expect((await get('/v1/models/slots/files/recipe')).status).toBe(404); // a folder
  });
});

describe('CORS for web apps on other origins', () => {
  it('is off by default: no allow-origin header, files same-origin only', async () => {
    const res = await get('/v1/models/slots/files/manifest.json', { origin: 'http://app.example' });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
  });

  it('allows the configured origins only, preflight included', async () => {
    const open = await startTestServer({ modelsDir: root, corsOrigins: ['http://app.example'] });
    try {
      const file = await fetch(`${open.http}/v1/models/slots/files/manifest.json`, { headers: { origin: 'http://app.example' } });
      expect(file.headers.get('access-control-allow-origin')).toBe('http://app.example');
      expect(file.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
      expect(file.headers.get('access-control-expose-headers')).toContain('etag');
      const preflight = await fetch(`${open.http}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
      const other = await fetch(`${open.http}/v1/models/slots/files/manifest.json`, { headers: { origin: 'http://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await open.close();
    }
  });
});
