/**
 * Measures seqserve's `POST /v1/ocr/lines` with the bundled `ppocr_rec` manifest against the package
 * authors' own recognition stage (reference.ts) on text lines rendered from lines.json
 * (render_lines.py), clean and degraded, and both against the rendered text:
 *
 *     npx tsx models/ppocr_rec/check/measure.ts [--json results.json]
 *
 * Rows: seqserve greedy and beam with the bundled manifest (PaddleOCR's own pre-processing: BGR,
 * (x / 255 − 0.5) / 0.5, linear resize, padded to 320), seqserve greedy with a manifest that
 * declares the package's pre-processing instead (pixel / 255, lanczos3 resize, no padding), and the
 * package itself. Agreement: lines whose text is identical, and 1 − (character edits / reference
 * characters); accuracy: the same against the rendered text.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { DEFAULT_CONFIG } from '../../../server/config.ts';
import { characterErrors } from '../../../server/core/text/edit-distance.ts';
import { startServer } from '../../../server/start-server.ts';
import { referenceRecognizer, type ReferenceLine } from './reference.ts';

const HERE = import.meta.dirname;
export const MODEL_DIR = path.dirname(HERE);

/** Renders `lines` with render_lines.py into `dir` (000.png, ...), degraded on request: the files, and each character's centre x as drawn. */
export function renderLines(lines: string[], dir: string, degrade = false): { files: string[]; centres: number[][] } {
  const out = execFileSync('/usr/bin/python3', [path.join(HERE, 'render_lines.py'), dir, ...(degrade ? ['--degrade'] : [])], { input: JSON.stringify(lines), encoding: 'utf8' });
  return { files: lines.map((_, i) => path.join(dir, `${String(i).padStart(3, '0')}.png`)), centres: JSON.parse(out) as number[][] };
}

/** A models folder holding ppocr_rec with its manifest's `textLine.image` replaced by the package's pre-processing. */
export function packagePreprocessingModels(root: string): string {
  const dir = path.join(root, 'ppocr_rec');
  mkdirSync(dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(MODEL_DIR, 'manifest.json'), 'utf8'));
  delete manifest.$schema;
  manifest.textLine.image = { ...manifest.textLine.image, channels: 'bgr', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], resample: 'lanczos3', minWidth: 1, widthMultiple: 1 };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return root;
}

export interface Scores {
  exact: number;
  characters: number;
}

/** Exact-line rate and 1 − character edits / reference characters of `hyp` against `ref`. */
export function agreement(hyp: string[], ref: string[]): Scores {
  let edits = 0;
  let chars = 0;
  let exact = 0;
  hyp.forEach((h, i) => {
    edits += characterErrors(ref[i], h);
    chars += [...ref[i]].length;
    if (h === ref[i]) exact++;
  });
  return { exact: exact / ref.length, characters: 1 - edits / chars };
}

interface Line {
  text: string;
  confidence: number;
  characters: { char: string; confidence: number; x: number }[];
}

async function readAll(url: string, files: string[], decoding: 'greedy' | 'beam'): Promise<Line[]> {
  const out: Line[] = [];
  for (const f of files) {
    const res = await fetch(`${url}/v1/ocr/lines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: readFileSync(f).toString('base64'), decoding }),
    });
    if (res.status !== 200) throw new Error(`${f}: ${res.status} ${await res.text()}`);
    out.push((await res.json()) as Line);
  }
  return out;
}

async function serve(modelsDir: string) {
  const server = await startServer(
    { ...DEFAULT_CONFIG, modelsDir, host: '127.0.0.1', httpPort: 0, grpcPort: 0, runtime: { ...DEFAULT_CONFIG.runtime, providers: ['cpu'] } },
    pino({ level: 'silent' }),
  );
  return { url: `http://127.0.0.1:${server.httpPort}`, close: () => server.close() };
}

type Reference = Awaited<ReturnType<typeof referenceRecognizer>>;
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Reads one rendered set with every pipeline; prints its table and returns what was measured. */
async function measureSet(title: string, lines: string[], rendered: { files: string[]; centres: number[][] }, urls: { bundled: string; variant: string }, reference: Reference) {
  const { files, centres } = rendered;
  const greedyLines = await readAll(urls.bundled, files, 'greedy');
  const beam = (await readAll(urls.bundled, files, 'beam')).map((l) => l.text);
  const asPackage = (await readAll(urls.variant, files, 'greedy')).map((l) => l.text);
  const referenceLines: ReferenceLine[] = [];
  for (const f of files) referenceLines.push(await reference(f));
  const theirs = referenceLines.map((l) => l.text);
  const greedy = greedyLines.map((l) => l.text);
  const confidenceGap = greedyLines.map((l, i) => Math.abs(l.confidence - referenceLines[i].confidence));

  const rows = {
    'seqserve, bundled manifest, greedy': greedy,
    'seqserve, bundled manifest, beam 8': beam,
    "seqserve, the package's pre-processing, greedy": asPackage,
    '@gutenye/ocr-node recognition stage': theirs,
  };
  const table = Object.entries(rows).map(([name, texts]) => ({
    name,
    vsPackage: agreement(texts, theirs),
    vsTruth: agreement(texts, lines),
    vsTruthTrimmed: agreement(
      texts.map((t) => t.trim()),
      lines,
    ),
  }));
  const heights = files.map((f) => readFileSync(f).readUInt32BE(20)); // PNG IHDR height
  console.log(`\n## ${title}: ${lines.length} lines (${lines.filter((l) => /[\u2e80-\uffff]/.test(l)).length} with Chinese characters), images ${Math.min(...heights)}-${Math.max(...heights)} px high\n`);
  console.log('| pipeline | same line as the package | characters agreeing | exact lines vs rendered text | character accuracy | exact lines, ends trimmed |');
  console.log('|---|---|---|---|---|---|');
  for (const r of table)
    console.log(`| ${r.name} | ${pct(r.vsPackage.exact)} | ${pct(r.vsPackage.characters)} | ${pct(r.vsTruth.exact)} | ${pct(r.vsTruth.characters)} | ${pct(r.vsTruthTrimmed.exact)} |`);
  // characters' x against where they were drawn, on the lines read exactly (a space read at either end left out)
  const xErrors: number[] = [];
  greedyLines.forEach((l, i) => {
    const chars = l.characters.filter((c, k) => !((k === 0 || k === l.characters.length - 1) && c.char === ' ' && l.text.trim() !== l.text));
    if (chars.map((c) => c.char).join('') !== lines[i]) return;
    chars.forEach((c, k) => xErrors.push(Math.abs(c.x - centres[i][k])));
  });
  xErrors.sort((a, b) => a - b);
  console.log(
    `\nconfidence (greedy) vs the package's: mean |difference| ${(confidenceGap.reduce((a, b) => a + b, 0) / confidenceGap.length).toFixed(4)}, max ${Math.max(...confidenceGap).toFixed(4)}`,
  );
  if (xErrors.length)
    console.log(
      `characters' x vs where they were drawn (${xErrors.length} characters of lines read exactly): median ${xErrors[xErrors.length >> 1].toFixed(1)} px, 95th percentile ${xErrors[Math.floor(xErrors.length * 0.95)].toFixed(1)} px, max ${xErrors.at(-1)!.toFixed(1)} px`,
    );
  console.log('\nlines read differently:');
  lines.forEach((l, i) => {
    const differ = Object.values(rows).some((t) => t[i] !== l);
    if (differ) console.log(JSON.stringify({ truth: l, greedy: greedy[i], beam: beam[i], asPackage: asPackage[i], package: theirs[i] }));
  });
  return { rows, table, confidenceGap, xErrors };
}

async function main() {
  const lines = JSON.parse(readFileSync(path.join(HERE, 'lines.json'), 'utf8')) as string[];
  const tmp = mkdtempSync(path.join(tmpdir(), 'ppocr-measure-'));
  const bundled = await serve(MODEL_DIR);
  const variant = await serve(packagePreprocessingModels(path.join(tmp, 'models')));
  try {
    const reference = await referenceRecognizer();
    const urls = { bundled: bundled.url, variant: variant.url };
    const clean = await measureSet('clean renderings', lines, renderLines(lines, path.join(tmp, 'clean')), urls, reference);
    const degraded = await measureSet('degraded (60 % scale, blur, noise)', lines, renderLines(lines, path.join(tmp, 'degraded'), true), urls, reference);
    const out = process.argv.indexOf('--json');
    if (out > 0) writeFileSync(process.argv[out + 1], JSON.stringify({ lines, clean, degraded }, null, 2) + '\n');
  } finally {
    await bundled.close();
    await variant.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await main();
