/**
 * The web demo at `/`, its service worker at `/sw.js`, its bundle (`/web/`, built by `npm run build:web` into dist/web/), and
 * onnxruntime-web's wasm files from the installed package (`/ort/`, no CDN). Every response here is
 * cross-origin isolated (COOP same-origin, COEP require-corp) so wasm threads can work.
 */
import path from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context, type Next } from 'hono';
import { PROJECT_ROOT } from '../../project-root.ts';

const ROOT = PROJECT_ROOT;
const relative = (dir: string) => path.relative(process.cwd(), path.join(ROOT, dir)) || '.';

export function webRoutes(): Hono {
  const app = new Hono();
  const isolated = async (c: Context, next: Next) => {
    await next();
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('Cross-Origin-Embedder-Policy', 'require-corp');
  };
  for (const p of ['/', '/sw.js', '/web/*', '/ort/*']) app.use(p, isolated);
  app.get('/', serveStatic({ path: path.join(relative('web'), 'index.html') }));
  app.get('/sw.js', serveStatic({ path: path.join(relative('dist'), 'web', 'sw.js') })); // at the root, so its scope is the whole demo
  app.get('/web/*', serveStatic({ root: relative('dist') })); // /web/app.js → dist/web/app.js
  app.get('/ort/*', serveStatic({ root: relative('node_modules/onnxruntime-web/dist'), rewriteRequestPath: (p) => p.replace(/^\/ort\//, '/') }));
  return app;
}
