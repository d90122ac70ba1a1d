/**
 * `seqserve init PATH [--force]`: writes the manifest that auto-configuration infers (the one the
 * server would serve the folder with, server/runtime/manifest-inference-folder.ts) into the model
 * folder as manifest.json, for editing. PATH is an ONNX file (the manifest then has that one graph;
 * `1/model.onnx` in a Triton version folder writes into the model folder above it) or a model
 * folder (all the graphs the server would infer). Refuses to overwrite a manifest.json unless
 * `force`. The manifest is checked against the manifest schema before it is written.
 */
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifest } from '../../server/core/manifest.ts';
import { MANIFEST_SCHEMA_FILE } from '../../server/core/manifest-schema.ts';
import type { InferredManifestJson } from '../../server/core/manifest-inference.ts';
import { inferFolderManifest, type DescribeGraph } from '../../server/runtime/manifest-inference-folder.ts';

export interface InitResult {
  /** The manifest.json written. */
  file: string;
  manifest: InferredManifestJson;
  /** What was inferred and what to check. */
  notes: string[];
}

const MODEL_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** The JSON Schema shipped with this seqserve (docs/manifest.schema.json), if it is here: from the sources or from build/. */
function schemaFile(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, '../..', MANIFEST_SCHEMA_FILE), path.resolve(here, '../../..', MANIFEST_SCHEMA_FILE)].find((f) => existsSync(f));
}

export async function initManifest(target: string, options: { force?: boolean; describe: DescribeGraph }): Promise<InitResult> {
  const full = path.resolve(target);
  const info = await stat(full).catch(() => undefined);
  if (!info) throw new Error(`${target}: no such file or folder`);
  let dir = full;
  let only: string | undefined;
  if (info.isFile()) {
    if (!full.toLowerCase().endsWith('.onnx')) throw new Error(`${target}: not an ONNX file (.onnx)`);
    dir = path.dirname(full);
    only = path.basename(full);
    // Triton's layout: the model folder holds version folders (1/model.onnx)
    if (/^\d+$/.test(path.basename(dir))) {
      only = `${path.basename(dir)}/${only}`;
      dir = path.dirname(dir);
    }
  }
  const name = path.basename(dir);
  if (!MODEL_NAME.test(name))
    throw new Error(`${dir}: "${name}" is not a model name: model names (the folder names) are lower case: letters, digits, "-" and "_"; rename the folder first`);
  const file = path.join(dir, 'manifest.json');
  if (existsSync(file) && !options.force) throw new Error(`${file} exists; give --force to overwrite it`);
  const inferred = await inferFolderManifest(dir, name, options.describe, only);
  const schema = schemaFile();
  const manifest: InferredManifestJson = { ...(schema ? { $schema: path.relative(dir, schema).split(path.sep).join('/') } : {}), ...inferred.manifest };
  parseManifest(manifest); // the manifest schema the server loads it with
  await writeFile(file, `${compactJson(manifest)}\n`);
  return { file, manifest, notes: inferred.notes };
}

/** JSON indented by 2 with each array of plain values, and each object of plain values and such arrays, on one line (a tensor, a state). */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .replace(/\[\n\s*([^[\]{}]*?)\n\s*\]/g, (_, inner: string) => `[${inner.split(/,\n\s*/).join(', ')}]`)
    .replace(/\{\n\s*((?:[^{}[\]]|\[[^[\]{}]*\])*?)\n\s*\}/g, (_, inner: string) => `{ ${inner.split(/,\n\s*/).join(', ')} }`);
}

/** What `seqserve init` prints: the graphs, their tensors and states, then what to check. */
export function describeInit(r: InitResult): string {
  const shown = (f: string) => (path.relative(process.cwd(), f).startsWith('..') ? f : path.relative(process.cwd(), f) || '.');
  const lines = [`wrote ${shown(r.file)} (model "${r.manifest.name}", version "${r.manifest.version}", task generic)`];
  for (const [name, g] of Object.entries(r.manifest.graphs)) {
    lines.push(`graph ${name} (${g.file}, role ${g.role})`);
    for (const t of g.inputs) lines.push(`  input  ${t.name.padEnd(16)} ${t.datatype.padEnd(6)} [${t.shape.join(', ')}]`);
    for (const t of g.outputs) lines.push(`  output ${t.name.padEnd(16)} ${t.datatype.padEnd(6)} [${t.shape.join(', ')}]`);
    for (const s of g.states ?? []) lines.push(`  state  ${s.input} -> ${s.output} (batchAxis ${s.batchAxis})`);
    if (!g.states?.length) lines.push('  no recurrent states');
  }
  lines.push('check:', ...r.notes.map((n) => `  - ${n}`));
  lines.push(`then: seqserve check --models ${shown(path.dirname(r.file))}`);
  return lines.join('\n');
}
