/**
 * Which pre-processing step decides the reading: the bundled manifest's `textLine.image` with one
 * step changed at a time (resampling kernel, padding, normalisation), each served by seqserve and
 * read greedy and beam on the clean and the degraded renderings of lines.json (ends trimmed):
 *
 *     npx tsx models/ppocr_rec/check/ablate.ts
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONFIG } from '../../../server/config.ts';
import { startServer } from '../../../server/start-server.ts';
import { agreement, MODEL_DIR, renderLines } from './measure.ts';

const VARIANTS: Record<string, Record<string, unknown>> = {
  'PaddleOCR (BGR, (x/255 − 0.5)/0.5, pad to 320), linear resize': { resample: 'linear' },
  'the same, cubic resize': { resample: 'cubic' },
  'the same, lanczos3 resize': { resample: 'lanczos3' },
  'the same, lanczos3, no padding': { resample: 'lanczos3', minWidth: 1 },
  'linear resize, no padding': { resample: 'linear', minWidth: 1 },
  'linear resize, x/255 (no mean/std)': { resample: 'linear', mean: [0, 0, 0], std: [1, 1, 1] },
  "the package's (x/255, lanczos3, no padding)": { resample: 'lanczos3', mean: [0, 0, 0], std: [1, 1, 1], minWidth: 1 },
};

const lines = JSON.parse(readFileSync(path.join(import.meta.dirname, 'lines.json'), 'utf8')) as string[];
const tmp = mkdtempSync(path.join(tmpdir(), 'ppocr-ablate-'));
try {
  const sets = { clean: renderLines(lines, path.join(tmp, 'clean')), degraded: renderLines(lines, path.join(tmp, 'degraded'), true) };
  const base = JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8'));
  delete base.$schema;
  console.log('| pre-processing | clean, greedy | clean, beam | degraded, greedy | degraded, beam |\n|---|---|---|---|---|');
  for (const [i, [name, patch]] of Object.entries(VARIANTS).entries()) {
    const dir = path.join(tmp, `v${i}`, 'ppocr_rec');
    mkdirSync(dir, { recursive: true });
    const manifest = structuredClone(base);
    manifest.textLine.image = { ...manifest.textLine.image, ...patch };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const server = await startServer(
      { ...DEFAULT_CONFIG, modelsDir: path.dirname(dir), host: '127.0.0.1', httpPort: 0, grpcPort: 0, runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'] } },
      pino({ level: 'silent' }),
    );
    const cells: string[] = [];
    for (const { files } of Object.values(sets)) {
      for (const decoding of ['greedy', 'beam']) {
        const res = await fetch(`http://127.0.0.1:${server.httpPort}/v1/ocr/lines`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ image: files.map((f) => readFileSync(f).toString('base64')), decoding }),
        });
        const { lines: read } = (await res.json()) as { lines: { text: string }[] };
        const a = agreement(
          read.map((l) => l.text.trim()),
          lines,
        );
        cells.push(`${(a.exact * 100).toFixed(1)} % / ${(a.characters * 100).toFixed(1)} %`);
      }
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
    await server.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
