/**
 * The production build (`npm run build`, run by `npm test` before vitest): the compiled server starts
 * from build/ without tsx and serves; no compiled module still imports a .ts file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';

const CLI = path.resolve('build/clients/cli/seqserve.js');
const built = existsSync(CLI);
let child: ChildProcess | undefined;
const dirs: string[] = [];

afterAll(() => {
  child?.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : []));
}

describe.runIf(built || process.env.CI)('the production build', () => {
  it('has no import of a TypeScript file left', () => {
    const offenders = jsFiles('build').filter((f) => /(from|import)\s*\(?\s*['"][^'"]+\.ts['"]/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('serves from build/ with plain node', async () => {
    const models = mkdtempSync(path.join(tmpdir(), 'seqserve-build-'));
    dirs.push(models);
    cpSync(path.join(BUNDLED_MODELS_DIR, 'slots'), path.join(models, 'slots'), { recursive: true });
    child = spawn(process.execPath, [CLI, 'serve', '--models', models, '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /"httpPort":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child!.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/v1/slots`, { method: 'POST', body: JSON.stringify({ text: 'fly from boston to denver' }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { slots: { value: string }[] }).slots.map((s) => s.value)).toEqual(['boston', 'denver']);
  }, 60_000);
});
