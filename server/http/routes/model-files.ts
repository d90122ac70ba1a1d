/**
 * `GET /v1/models/{model}/files/{file}`: a file of a model's folder (manifest, ONNX graphs,
 * vocabularies) for clients that run the model themselves. Strong validators: an ETag from size and
 * modification time, `If-None-Match` → 304, and `Cache-Control: no-cache` so caches keep the file
 * and revalidate it (a changed model is picked up; an unchanged one is not downloaded again).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { ServerContext } from '../../context.ts';
import { resolveModelFile } from '../../runtime/model-file.ts';

const TYPES: Record<string, string> = {
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  onnx: 'application/octet-stream',
  arpa: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  png: 'image/png',
  wav: 'audio/wav',
};

export function modelFileRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.get('/v1/models/:model/files/*', async (c) => {
    const model = c.req.param('model');
    const prefix = `/v1/models/${encodeURIComponent(model)}/files/`;
    const raw = c.req.path.startsWith(prefix) ? c.req.path.slice(prefix.length) : '';
    let file: string;
    try {
      file = decodeURIComponent(raw);
    } catch {
      file = '\0';
    }
    const found = await resolveModelFile(ctx.repository, model, file);
    const etag = `"${found.size.toString(16)}-${Math.floor(found.mtimeMs).toString(16)}"`;
    const headers = {
      etag,
      'cache-control': 'public, no-cache',
      'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream',
      // other origins' pages (cross-origin isolated ones too) may embed the files when CORS allows them
      'cross-origin-resource-policy': ctx.config.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin',
    };
    const match = c.req.header('if-none-match');
    if (match && match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
      ctx.metrics.modelFileResponses.inc({ model, status: '304' });
      return c.body(null, 304, headers);
    }
    ctx.metrics.modelFileResponses.inc({ model, status: '200' });
    ctx.metrics.modelFileBytes.inc({ model }, found.size);
    const body = Readable.toWeb(createReadStream(found.path)) as ReadableStream<Uint8Array>;
    return c.body(body, 200, { ...headers, 'content-length': String(found.size) });
  });
  return app;
}
