/**
 * API keys on HTTP: `authorization: Bearer <key>` on every route but the health checks and the web
 * demo's static files (which hold no model and no data). CORS preflights pass (browsers send them
 * without credentials); the real request that follows is checked.
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiKeys } from './api-keys.ts';

const OPEN = [/^\/v2\/health\/(live|ready)$/, /^\/$/, /^\/sw\.js$/, /^\/web\//, /^\/ort\//];

export function httpAuth(keys: ApiKeys): MiddlewareHandler {
  return async (c, next) => {
    if (keys.enabled && c.req.method !== 'OPTIONS' && !OPEN.some((p) => p.test(c.req.path))) {
      c.header('WWW-Authenticate', 'Bearer');
      keys.check(c.req.header('authorization'));
    }
    await next();
  };
}
