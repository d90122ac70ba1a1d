/**
 * A file of a model's folder, for clients that run models themselves (the browser client fetches
 * manifest, graphs and vocabularies from seqserve). Confined to the folder: no "..", no absolute
 * or backslash paths, no hidden files, and the real path (symlinks resolved) must stay inside the
 * model folder's real path.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument, notFound } from '../core/errors.ts';
import type { ModelRepository } from './model-repository.ts';

export interface ModelFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export async function resolveModelFile(repository: ModelRepository, model: string, file: string): Promise<ModelFile> {
  repository.status(model); // not_found for a model the repository does not know
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
