/**
 * API keys on HTTP: `authorization: Bearer <key>` on every route but the health checks, the web
 * demo's static files and the OpenAPI document `/openapi.json` (which hold no model and no data).
 * CORS preflights pass (browsers send them without credentials); the real request that follows is
 * checked. The key's role is kept on the request (`apiKeyRole`) for routes that administer the
 * server (requireAdmin).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { SeqserveError } from '../core/errors.ts';
import type { ApiKeys, KeyRole } from './api-keys.ts';

const OPEN = [/^\/v2\/health\/(live|ready)$/, /^\/$/, /^\/sw\.js$/, /^\/web\//, /^\/ort\//, /^\/openapi\.json$/];

/** Whether `path` is served without an API key. */
export function isPublicPath(path: string): boolean {
  return OPEN.some((p) => p.test(path));
}

export function httpAuth(keys: ApiKeys): MiddlewareHandler {
  return async (c, next) => {
    if (keys.enabled && c.req.method !== 'OPTIONS' && !isPublicPath(c.req.path)) {
      c.header('WWW-Authenticate', 'Bearer');
      c.set('apiKeyRole', keys.check(c.req.header('authorization')));
    } else if (!keys.enabled) {
      c.set('apiKeyRole', 'open');
    }
    await next();
  };
}

/**
 * Refuses with 403 PERMISSION_DENIED unless the request's key is marked `admin` (or no keys are
 * configured). Fails closed: a request the auth middleware did not see is refused.
 */
export function requireAdmin(c: Context, action: string): void {
  const role = c.get('apiKeyRole') as KeyRole | undefined;
  if (role === 'open' || role === 'admin') return;
  throw new SeqserveError(
    'permission_denied',
    `${action} needs an API key marked "admin" (a line "<key> admin" in --api-keys-file or SEQSERVE_API_KEYS); this key may only use the models`,
  );
}
