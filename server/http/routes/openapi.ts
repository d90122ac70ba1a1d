/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API, generated from the request schemas
 * (server/http/openapi/). Public like the health checks: it holds no model and no data.
 */
import { Hono } from 'hono';
import type { ServerContext } from '../../context.ts';
import { ApiKeys } from '../../security/api-keys.ts';
import { openApiDocument } from '../openapi/document.ts';

export function openApiRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  let text: string | undefined; // the same for the server's whole life: built on first request
  app.get('/openapi.json', (c) => {
    text ??= JSON.stringify(openApiDocument({ limits: ctx.config.limits, apiKeys: new ApiKeys(ctx.config.apiKeys).enabled }));
    return c.body(text, 200, { 'Content-Type': 'application/json' });
  });
  return app;
}
