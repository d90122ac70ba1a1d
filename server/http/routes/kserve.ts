/**
 * KServe v2 / Open Inference Protocol REST, plus Triton's model-repository extension
 * (`/v2/repository/index`, `.../load`, `.../unload`). Load and unload are refused unless the server
 * runs with `--model-control explicit`, and, when API keys are configured, need an admin key.
 */
import { Hono, type Context } from 'hono';
import { SeqserveError } from '../../core/errors.ts';
import type { ServerContext } from '../../context.ts';
import { requestSignal } from '../request-signal.ts';
import { kserveMetadata, kserveTarget, runKServeInfer } from '../../kserve/task-model.ts';
import { serverMetadata } from '../../kserve/server-metadata.ts';
import { decodeRestInfer, encodeRestInfer } from '../../kserve/rest-codec.ts';
import { readBody } from '../read-body.ts';
import { requireAdmin } from '../../security/http-auth.ts';

export function kserveRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  const { repository } = ctx;

  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => (ctx.ready() ? c.json({ ready: true }) : c.json({ ready: false, error: 'server is not ready' }, 503)));
  app.get('/v2', (c) => c.json(serverMetadata(ctx)));

  const metadata = (c: Context) => c.json(kserveMetadata(repository, c.req.param('model')!, c.req.param('version')));
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  // KServe: 200 when ready, an error status otherwise; a model that is not serving answers 503
  // here as on metadata and infer (as KServe's own model server does), with the reason
  const ready = (c: Context) => {
    const name = c.req.param('model')!;
    const version = c.req.param('version');
    try {
      kserveTarget(repository, name, version);
      return c.json({ name, ready: true });
    } catch (err) {
      if (err instanceof SeqserveError && err.code === 'unavailable') return c.json({ name, ready: false, error: err.message }, 503);
      throw err;
    }
  };
  app.get('/v2/models/:model/ready', ready);
  app.get('/v2/models/:model/versions/:version/ready', ready);

  const inferHandler = async (c: Context) => {
    const name = c.req.param('model')!;
    const version = c.req.param('version');
    const target = kserveTarget(repository, name, version); // an unknown model is refused before the body is read
    const body = await readBody(c, ctx.config.limits.maxBodyBytes);
    const request = decodeRestInfer(body, c.req.header('inference-header-content-length'));
    const result = await runKServeInfer(ctx, target, request, requestSignal(c));
    const encoded = await encodeRestInfer(result, ctx.config.limits.maxBodyBytes);
    if (encoded.headerLength === undefined) return c.body(encoded.body as string, 200, { 'Content-Type': 'application/json' });
    return c.body(encoded.body as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': 'application/octet-stream',
      'Inference-Header-Content-Length': String(encoded.headerLength),
    });
  };
  app.post('/v2/models/:model/infer', inferHandler);
  app.post('/v2/models/:model/versions/:version/infer', inferHandler);

  // every folder of the repository, with the reason each one that is not serving is not
  app.post('/v2/repository/index', async (c) => c.json(await repository.list()));
  /** Load and unload change what every client gets: opt-in (`--model-control explicit`) and, with API keys, admin keys only. */
  const modelControl = (c: Context, action: 'load' | 'unload') => {
    requireAdmin(c, `${action}ing a model`);
    if (ctx.config.modelControl !== 'explicit') {
      // Triton answers the same status (UNAVAILABLE / 503) when its model control mode is not explicit
      throw new SeqserveError('unavailable', `model control is off: this server does not ${action} models on request; start it with --model-control explicit to allow it`);
    }
  };
  app.post('/v2/repository/models/:model/load', async (c) => {
    modelControl(c, 'load');
    const name = c.req.param('model');
    await repository.load(name); // 404 without such a folder; a folder that cannot load answers why
    return c.json(repository.status(name));
  });
  app.post('/v2/repository/models/:model/unload', async (c) => {
    modelControl(c, 'unload');
    const name = c.req.param('model');
    await repository.unload(name);
    return c.json(repository.status(name));
  });
  return app;
}
