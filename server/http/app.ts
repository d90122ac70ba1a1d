/**
 * The HTTP API, built by a factory so tests can call `app.request(...)` without a socket.
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { requestId, type RequestIdVariables } from 'hono/request-id';
import type { ServerContext } from '../context.ts';
import { SeqserveError } from '../core/errors.ts';
import { ApiKeys } from '../security/api-keys.ts';
import { httpAuth } from '../security/http-auth.ts';
import { errorResponse } from './error-response.ts';
import { OPENAI_ERROR_PATHS } from './openai-error-paths.ts';
import { requestDeadline, type RequestCancellation } from './request-signal.ts';
import { kserveRoutes } from './routes/kserve.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelFileRoutes } from './routes/model-files.ts';
import { modelRoutes } from './routes/models.ts';
import { kserveGenerateRoutes } from './routes/kserve-generate.ts';
import { TASK_ENDPOINTS } from '../service/task-endpoint-list.ts';
import { webRoutes } from './routes/web.ts';
import { openApiRoutes } from './routes/openapi.ts';

export type AppEnv = { Variables: RequestIdVariables & { cancellation?: RequestCancellation } };

export function createApp(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId({ headerName: 'x-request-id' }));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Successful requests log at debug (a line per request costs latency); failures at info.
    ctx.log[c.res.status >= 400 ? 'info' : 'debug'](
      { reqId: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 100) / 100 },
      'http request',
    );
  });
  const origins = ctx.config.corsOrigins;
  if (origins.length > 0) {
    app.use(
      cors({
        origin: origins.includes('*') ? '*' : origins,
        allowMethods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
        allowHeaders: ['authorization', 'content-type', 'if-none-match', 'inference-header-content-length'],
        exposeHeaders: ['etag', 'x-request-id', 'retry-after', 'inference-header-content-length'],
        maxAge: 600,
      }),
    );
  }
  app.use(httpAuth(new ApiKeys(ctx.config.apiKeys)));
  // shutting down: health answers (not ready), new work is refused so in-flight work can finish
  app.use(async (c, next) => {
    if (!ctx.ready() && !c.req.path.startsWith('/v2/health/')) {
      c.header('Connection', 'close');
      throw new SeqserveError('unavailable', 'the server is shutting down; retry on another instance', { retryAfterSeconds: 1 });
    }
    await next();
  });
  app.use(requestDeadline(ctx.config.limits.requestTimeoutSeconds));
  app.route('/', kserveRoutes(ctx));
  app.route('/', kserveGenerateRoutes(ctx));
  app.route('/', modelRoutes(ctx));
  // each task's own routes (server/tasks/<task>/server/endpoints.ts)
  for (const { endpoints } of TASK_ENDPOINTS) if (endpoints.http) app.route('/', endpoints.http(ctx));
  app.route('/', modelFileRoutes(ctx));
  app.route('/', webRoutes());
  app.route('/', metricsRoutes(ctx));
  app.route('/', openApiRoutes(ctx));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => errorResponse(c, err, ctx.log, OPENAI_ERROR_PATHS));
  return app;
}
