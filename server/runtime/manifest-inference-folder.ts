/**
 * Auto-configuration of a model folder without a manifest.json (Triton's auto-complete config):
 * which ONNX files of the folder are the model's graphs, and the manifest inferred from their
 * signatures (server/core/manifest-inference.ts). The model repository serves such a folder with the
 * inferred manifest; `seqserve init` writes it into the folder for editing.
 *
 * Which files: the `.onnx` files at the folder's top, one graph each; or, in Triton's layout, those
 * of its highest version folder (`1/model.onnx`, `3/model.onnx`: Triton's default version policy
 * serves the latest), the version number becoming the manifest's version. A folder where that does
 * not decide — ONNX files both at the top and in version folders, or only in other sub-folders, or
 * two files that make one graph name — is not inferred; the reason says why and how to write one.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { graphNameOf, inferManifest, type DescribedGraph, type InferredManifest } from '../core/manifest-inference.ts';

export interface FolderPlan {
  /** The ONNX files to serve, relative to the folder (`model.onnx`, `1/model.onnx`). */
  files: string[];
  /** The manifest's version: the Triton version folder's number, else "1". */
  version: string;
  /** What the plan chose that the user should know (a version picked, config.pbtxt not read). */
  notes: string[];
}

/** Reads a graph's inputs and outputs (the server: SessionFactory.describe, the one place sessions are created). */
export type DescribeGraph = (bytes: Uint8Array) => Promise<Pick<DescribedGraph, 'inputs' | 'outputs'>>;

/**
 * How folder `dir` would be auto-configured: the plan, a `problem` saying why its ONNX files do
 * not decide it, or undefined when it holds no ONNX file at all (nothing to infer from).
 */
export async function planFolder(dir: string): Promise<{ plan: FolderPlan } | { problem: string } | undefined> {
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() || e.isSymbolicLink());
  const relative = entries.map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  const onnx = relative.filter((f) => f.toLowerCase().endsWith('.onnx')).sort();
  if (onnx.length === 0) return undefined;
  const top = onnx.filter((f) => !f.includes('/'));
  const versioned = onnx.filter((f) => /^\d+\/[^/]+$/.test(f));
  const elsewhere = onnx.filter((f) => !top.includes(f) && !versioned.includes(f));
  const list = (files: string[]) => `${files.slice(0, 4).join(', ')}${files.length > 4 ? ', ...' : ''}`;
  if (top.length && versioned.length)
    return {
      problem: `the folder has ONNX files both at its top (${list(top)}) and in Triton version folders (${list(versioned)}), so which are the model is not clear`,
    };
  const notes: string[] = [];
  let files: string[];
  let version = '1';
  if (top.length) files = top;
  else if (versioned.length) {
    const versions = [...new Set(versioned.map((f) => f.split('/')[0]))].sort((a, b) => Number(a) - Number(b));
    version = String(Number(versions[versions.length - 1]));
    files = versioned.filter((f) => Number(f.split('/')[0]) === Number(version));
    if (versions.length > 1) notes.push(`Triton version folders ${versions.join(', ')}: serving version ${version}, the latest (as Triton's default version policy)`);
  } else
    return {
      problem: `the folder has ${list(elsewhere)} but no ONNX file at its top or in a Triton version folder (1/model.onnx), so which files are the model is not clear`,
    };
  const names = new Map<string, string>();
  for (const f of files) {
    const graph = graphNameOf(f);
    if (!graph) return { problem: `the file name ${f} makes no graph name (lower-case letters, digits and "_")` };
    if (names.has(graph)) return { problem: `${names.get(graph)} and ${f} would both be graph "${graph}"` };
    names.set(graph, f);
  }
  if (relative.includes('config.pbtxt'))
    notes.push(
      'config.pbtxt is not read: its settings (max_batch_size, instance_group, dynamic_batching, ...) do not apply; seqserve infers from the graph and uses its own defaults: write them in manifest.json (seqserve init)',
    );
  if (elsewhere.length) notes.push(`not served: ${list(elsewhere)} (only ${top.length ? 'the top' : `version ${version}`} is)`);
  return { plan: { files, version, notes } };
}

/** An inferred manifest and the plan it came from. */
export interface FolderInference extends InferredManifest {
  plan: FolderPlan;
}

/**
 * The inferred manifest of model `name` in folder `dir`; throws with the reason (and what to do)
 * when the folder's files do not decide it or a graph cannot be described. `only` restricts it to
 * one file of the folder (`seqserve init path/to/model.onnx`).
 */
export async function inferFolderManifest(dir: string, name: string, describe: DescribeGraph, only?: string): Promise<FolderInference> {
  const planned = only ? { plan: { files: [only], version: /^(\d+)\//.exec(only)?.[1] ?? '1', notes: [] } } : await planFolder(dir);
  if (!planned) throw new Error(`${dir}: no ONNX file to infer a manifest from`);
  if ('problem' in planned) throw new Error(`${dir}: cannot infer a manifest: ${planned.problem}`);
  const { plan } = planned;
  const graphs: DescribedGraph[] = [];
  for (const file of plan.files) {
    const full = path.join(dir, file);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(full));
    } catch (err) {
      throw new Error(`${full}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`);
    }
    const described = await describe(bytes).catch((err: Error) => {
      throw new Error(`${full}: cannot read the ONNX graph to infer a manifest: ${err.message.split('\n')[0]}`);
    });
    graphs.push({ file, ...described });
  }
  let inferred: InferredManifest;
  try {
    inferred = inferManifest(name, graphs, { version: plan.version });
  } catch (err) {
    throw new Error(`${dir}: cannot infer a manifest: ${(err as Error).message}`);
  }
  return { ...inferred, notes: [...plan.notes, ...inferred.notes], plan };
}

/** Whether folder `dir` has a manifest.json at its top. */
export async function hasManifest(dir: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [] as string[])).includes('manifest.json');
}

/**
 * Whether `root`, given as the repository, is itself one model folder to auto-configure: no
 * manifest.json, ONNX files that decide a model (planFolder), and no sub-folder but Triton version
 * folders (numbers) and "_" / "." ones — a folder of model folders is a repository, as before.
 */
export async function isOnnxOnlyModelFolder(root: string): Promise<boolean> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => undefined);
  if (!entries || entries.some((e) => e.name === 'manifest.json')) return false;
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('_') || e.name.startsWith('.')) continue;
    if (!/^\d+$/.test(e.name) || (await hasManifest(path.join(root, e.name)))) return false;
  }
  const planned = await planFolder(root).catch(() => undefined);
  return planned !== undefined && 'plan' in planned;
}
