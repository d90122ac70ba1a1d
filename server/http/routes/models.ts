/** OpenAI-compatible `GET /v1/models` and `GET /v1/models/:model`: the ready models, with their task (an extension). */
import { Hono } from 'hono';
import type { ServerContext } from '../../context.ts';
import type { LoadedModel } from '../../runtime/model-repository.ts';

const describe = (m: LoadedModel) => ({
  id: m.name,
  object: 'model',
  created: 0,
  owned_by: 'seqserve',
  task: m.manifest.task,
  ...(m.manifest.knows ? { knows: m.manifest.knows } : {}),
});

export function modelRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.get('/v1/models', (c) => c.json({ object: 'list', data: ctx.repository.readyModels().map(describe) }));
  app.get('/v1/models/:model', (c) => c.json(describe(ctx.repository.model(c.req.param('model')))));
  return app;
}
