/**
 * A file of a model's folder, for clients that run models themselves (the browser client fetches
 * manifest, graphs and vocabularies from seqserve). Confined to the folder: no "..", no absolute
 * or backslash paths, no hidden files, and the real path (symlinks resolved) must stay inside the
 * model folder's real path. A file the manifest names by an `npm:` reference (model-file-path.ts) is
 * served only when one of the serving model's manifest's file fields (manifestFiles) is exactly that
 * reference.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, notFound } from '../core/errors.ts';
import { manifestFiles } from '../core/manifest.ts';
import { modelFilePath, parseNpmRef } from './model-file-path.ts';
import type { ModelRepository } from './model-repository.ts';

export interface ModelFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export async function resolveModelFile(repository: ModelRepository, model: string, file: string): Promise<ModelFile> {
  repository.status(model); // not_found for a model the repository does not know
  if (file.startsWith('npm:')) return npmModelFile(repository, model, file);
  const parts = file.split('/');
  if (!file || file.includes('\\') || file.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.'))) {
    throw invalidArgument('file', 'must be a relative path inside the model folder');
  }
  const missing = () => notFound(`model "${model}" has no file "${file}"`, 'file');
  const dir = await realpath(await repository.folderOf(model)).catch(() => {
    throw missing();
  });
  const target = await realpath(path.join(dir, ...parts)).catch(() => {
    throw missing();
  });
  if (!target.startsWith(dir + path.sep)) throw missing(); // a symlink pointing out of the folder
  const s = await stat(target);
  if (!s.isFile()) throw missing();
  return { path: target, size: s.size, mtimeMs: s.mtimeMs };
}

/** A file of an npm package that the model's manifest references (`npm:<package>/<path>`), and no other. */
async function npmModelFile(repository: ModelRepository, model: string, file: string): Promise<ModelFile> {
  const missing = () => notFound(`model "${model}" has no file "${file}"`, 'file');
  try {
    parseNpmRef(file);
  } catch {
    throw invalidArgument('file', 'must be a relative path inside the model folder, or an npm: reference the manifest names');
  }
  const loaded = repository.model(model);
  if (!manifestFiles(loaded.manifest).includes(file)) throw missing(); // a file field names it, not prose such as description
  const target = await modelFilePath(loaded.dir, file).catch(() => {
    throw missing();
  });
  const s = await stat(target);
  if (!s.isFile()) throw missing();
  return { path: target, size: s.size, mtimeMs: s.mtimeMs };
}
