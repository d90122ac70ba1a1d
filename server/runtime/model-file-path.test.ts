import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ancestorNodeModules, modelFilePath, parseNpmRef } from './model-file-path.ts';

const root = mkdtempSync(path.join(tmpdir(), 'seqserve-npm-ref-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// root/node_modules/@acme/models/assets/m.onnx, root/node_modules/plain/k.txt, root/repo/m1 (a model folder)
const pkg = path.join(root, 'node_modules', '@acme', 'models');
mkdirSync(path.join(pkg, 'assets'), { recursive: true });
writeFileSync(path.join(pkg, 'assets', 'm.onnx'), 'onnx');
mkdirSync(path.join(root, 'node_modules', 'plain'), { recursive: true });
writeFileSync(path.join(root, 'node_modules', 'plain', 'k.txt'), 'k');
writeFileSync(path.join(root, 'secret.txt'), 'secret');
symlinkSync(path.join(root, 'secret.txt'), path.join(pkg, 'assets', 'link.txt'));
const modelDir = path.join(root, 'repo', 'm1');
mkdirSync(modelDir, { recursive: true });

describe('npm: references in manifests', () => {
  it('parses scoped and plain packages, and refuses paths that could leave the package', () => {
    expect(parseNpmRef('vocab.json')).toBeUndefined();
    expect(parseNpmRef('npm:@acme/models/assets/m.onnx')).toEqual({ pkg: '@acme/models', subpath: 'assets/m.onnx' });
    expect(parseNpmRef('npm:plain/k.txt')).toEqual({ pkg: 'plain', subpath: 'k.txt' });
    for (const bad of ['npm:@acme/models', 'npm:plain', 'npm:plain/../x', 'npm:plain/a/./b', 'npm:plain/.hidden', 'npm:plain//x', 'npm:/etc/passwd', 'npm:Plain/x'])
      expect(() => parseNpmRef(bad), bad).toThrow(/not an npm reference of a file/);
  });

  it('finds the package from the model folder upwards, as Node does', async () => {
    expect(await modelFilePath(modelDir, 'npm:@acme/models/assets/m.onnx')).toBe(path.join(pkg, 'assets', 'm.onnx'));
    expect(await modelFilePath(modelDir, 'npm:plain/k.txt')).toBe(path.join(root, 'node_modules', 'plain', 'k.txt'));
    expect(await modelFilePath(modelDir, 'graph.onnx')).toBe(path.join(modelDir, 'graph.onnx'));
  });

  it('names a missing package or file, and refuses a symlink out of the package', async () => {
    await expect(modelFilePath(modelDir, 'npm:@acme/nothing/x.onnx')).rejects.toThrow(/npm package "@acme\/nothing" is not installed/);
    await expect(modelFilePath(modelDir, 'npm:@acme/models/assets/missing.onnx')).rejects.toThrow(/missing\.onnx: file not found/);
    await expect(modelFilePath(modelDir, 'npm:@acme/models/assets/link.txt')).rejects.toThrow(/resolves outside the package folder/);
  });
});

describe('where packages are looked for', () => {
  it('only in the node_modules folders of the folder and its ancestors, not in Node\u2019s global folders', () => {
    const lookup = ancestorNodeModules(modelDir);
    expect(lookup[0]).toBe(path.join(modelDir, 'node_modules'));
    expect(lookup).toContain(path.join(root, 'node_modules'));
    expect(lookup.at(-1)).toBe(path.join(path.parse(root).root, 'node_modules'));
    for (const dir of lookup) {
      expect(path.basename(dir), dir).toBe('node_modules');
      expect(modelDir.startsWith(path.dirname(dir)), dir).toBe(true);
    }
    for (const global of ['.node_modules', '.node_libraries']) expect(lookup).not.toContain(path.join(homedir(), global));
    expect(lookup.some((d) => d.endsWith(`${path.sep}lib${path.sep}node`))).toBe(false);
  });

  it('falls back to the packages above seqserve\u2019s own folder when it is installed in a path with spaces', async () => {
    // a copy of this module in "<root>/with space/seqserve/", the package in "<root>/with space/node_modules"
    const install = path.join(root, 'with space');
    mkdirSync(path.join(install, 'seqserve'), { recursive: true });
    copyFileSync(path.join(import.meta.dirname, 'model-file-path.ts'), path.join(install, 'seqserve', 'model-file-path.ts'));
    mkdirSync(path.join(install, 'node_modules', 'spaced'), { recursive: true });
    writeFileSync(path.join(install, 'node_modules', 'spaced', 'k.txt'), 'k');
    const copy = (await import(pathToFileURL(path.join(install, 'seqserve', 'model-file-path.ts')).href)) as typeof import('./model-file-path.ts');
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'seqserve-model-'));
    try {
      expect(await copy.modelFilePath(elsewhere, 'npm:spaced/k.txt')).toBe(path.join(install, 'node_modules', 'spaced', 'k.txt'));
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
