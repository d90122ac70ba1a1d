// The production build: the server, CLI and client library compiled to JavaScript in build/ (tsc,
// tsconfig.build.json; imports of .ts files rewritten to .js), the worker scripts copied beside
// them, and the web demo bundled into dist/web/. `npm start` and the Dockerfile run build/;
// `bin/seqserve.js` runs the TypeScript sources through tsx when tsx is installed (development).
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
rmSync('build', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
// plain-JavaScript worker scripts are not part of the TypeScript program
for (const dir of ['server/runtime']) {
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.mjs'))) cpSync(path.join(dir, f), path.join('build', dir, f));
}
await import('./build-web.mjs');
