// Bundles the web demo and client library (web/app.ts, clients/web/) with esbuild into dist/web/.
import { build } from 'esbuild';

await build({
  entryPoints: { app: 'web/app.ts', 'seqserve-web': 'clients/web/seqserve-web.ts' },
  outdir: 'dist/web',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
