#!/usr/bin/env node
// Entry point of the `seqserve` command. A development install (with tsx) runs the TypeScript
// sources, so edits take effect at once; a production install (`npm ci --omit=dev`, the Docker
// image) runs the compiled build/ that `npm run build` writes.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsx = false;
try {
  require.resolve('tsx/esm/api');
  tsx = process.env.SEQSERVE_USE_BUILD !== '1';
} catch {
  // no tsx: a production install
}
if (tsx) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../clients/cli/seqserve.ts');
} else {
  const built = new URL('../build/clients/cli/seqserve.js', import.meta.url);
  if (!existsSync(built)) {
    process.stderr.write('seqserve: build/ is missing; run `npm run build` (needs the dev dependencies) first\n');
    process.exit(1);
  }
  await import(built.href);
}
