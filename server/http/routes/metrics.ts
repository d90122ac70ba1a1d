import { Hono } from 'hono';
import type { ServerContext } from '../../context.ts';

export function metricsRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    c.header('Content-Type', ctx.metrics.registry.contentType);
    return c.body(await ctx.metrics.registry.metrics());
  });
  return app;
}
