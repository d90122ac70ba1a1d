// Bundles the web demo, its service worker and the client library (web/, clients/web/) with esbuild into dist/web/.
import { build } from 'esbuild';

await build({
  entryPoints: { app: 'web/app.ts', sw: 'web/sw.ts', 'seqserve-web': 'clients/web/seqserve-web.ts', 'session-worker': 'clients/web/session-worker.ts' },
  outdir: 'dist/web',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // onnxruntime-web's build that loads its wasm glue from `env.wasm.wasmPaths` (seqserve's /ort/):
  // its wasm-thread workers then start from that file, not from this bundle
  conditions: ['onnxruntime-web-use-extern-wasm'],
  // wavefile's "module" entry has only named exports; its "main" build has the default one Node sees
  mainFields: ['browser', 'main'],
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
