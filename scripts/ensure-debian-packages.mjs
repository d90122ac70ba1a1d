// The one list of Debian packages the project needs, by purpose, and the installer for them.
//   node scripts/ensure-debian-packages.mjs [recipes] [test] [bench]   (default: test)
// `.ci/run` asks for `recipes test`, `npm test` for `test`, `npm run bench` for `bench`. Each package
// is checked by what it provides; when running as root on Debian (CI, fresh machines) the missing
// ones are installed with apt, otherwise they are named. Any Python module a recipe or test
// imports must come from a package here (`../shared/tools/check-ci-debian-deps` checks it in CI).
import { execFileSync, spawnSync } from 'node:child_process';

const python = (module) => () => has('/usr/bin/python3', ['-c', `import ${module}`]);
const command =
  (cmd, args = ['--version'], anyExit = false) =>
  () =>
    has(cmd, args, anyExit);
const installed = (pkg) => () => spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' }).stdout?.endsWith(' installed');

export const PACKAGES = {
  // the training recipes (models/*/recipe), smoke-run by CI, run with /usr/bin/python3
  recipes: [
    { pkg: 'python3-torch', ok: python('torch') },
    { pkg: 'python3-numpy', ok: python('numpy') },
    { pkg: 'python3-onnx', ok: python('onnx') },
    { pkg: 'python3-pil', ok: python('PIL') }, // caption recipe: scenes drawn with Pillow
    { pkg: 'python3-jsonschema', ok: python('jsonschema') }, // recipes check their manifests against docs/manifest.schema.json
    { pkg: 'python3-sklearn', ok: python('sklearn') }, // spam recipe: the TF-IDF + logistic regression baseline
    // Debian's torch is 60x slower at sgemm without it (it does not depend on it)
    { pkg: 'libopenblas0-pthread', ok: installed('libopenblas0-pthread') },
    { pkg: 'espeak-ng', ok: command('espeak-ng') }, // asr / speech_qa / audio_word2vec recipes speak their data
    { pkg: 'sox', ok: command('sox') },
    // asr recipe (issue 22): training voices of another engine (flite), a held-out family (festival
    // and three of its voices), and PocketSphinx with its US English model and real recordings
    // (pocketsphinx-testdata), measured side by side with the recognizer
    // audio_word2vec recipe: flite voices (rms held out) and festival's ked voice (festvox-kdlpc16k) held out
    { pkg: 'flite', ok: command('flite', ['--version'], true) },
    { pkg: 'festival', ok: command('text2wave', ['-h'], true) },
    { pkg: 'festvox-kallpc16k', ok: installed('festvox-kallpc16k') },
    { pkg: 'festvox-kdlpc16k', ok: installed('festvox-kdlpc16k') },
    { pkg: 'festvox-us-slt-hts', ok: installed('festvox-us-slt-hts') },
    { pkg: 'pocketsphinx', ok: command('pocketsphinx_batch', ['-h'], true) },
    { pkg: 'pocketsphinx-en-us', ok: installed('pocketsphinx-en-us') },
    { pkg: 'pocketsphinx-testdata', ok: installed('pocketsphinx-testdata') },
  ],
  test: [
    { pkg: 'curl', ok: command('curl') },
    // the cross-implementation gRPC test generates Python stubs from the KServe proto
    { pkg: 'protobuf-compiler', ok: command('protoc') },
    { pkg: 'protobuf-compiler-grpc', ok: command('/usr/bin/grpc_python_plugin', ['--version'], true) },
    { pkg: 'python3-grpcio', ok: python('grpc') },
    { pkg: 'python3-protobuf', ok: python('google.protobuf') },
    // the spoken-QA test re-creates its spoken stories as the recipe made them
    { pkg: 'espeak-ng', ok: command('espeak-ng') },
    { pkg: 'sox', ok: command('sox') },
    // test fixtures: faulty and third-party models are exported at test time
    { pkg: 'python3-onnx', ok: python('onnx') },
    { pkg: 'python3-torch', ok: python('torch') },
    { pkg: 'libopenblas0-pthread', ok: installed('libopenblas0-pthread') },
    // the web demo's tests drive Debian's Chromium headless
    { pkg: 'chromium', ok: command('/usr/bin/chromium') },
    // the OCR test renders Chinese and English text lines (models/ppocr_rec/check/render_lines.py)
    { pkg: 'python3-pil', ok: python('PIL') },
    { pkg: 'fonts-wqy-microhei', ok: installed('fonts-wqy-microhei') },
    { pkg: 'fonts-dejavu-core', ok: installed('fonts-dejavu-core') },
  ],
  bench: [
    { pkg: 'wrk', ok: command('wrk', ['--version'], true) },
    // the endpointing section speaks its utterances with espeak-ng and flite voices and trims them with sox
    { pkg: 'espeak-ng', ok: command('espeak-ng') },
    { pkg: 'flite', ok: command('flite', ['--version'], true) },
    { pkg: 'sox', ok: command('sox') },
  ],
};

function has(cmd, args, anyExit = false) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', input: '' });
  return !r.error && (anyExit || r.status === 0);
}

const groups = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
for (const g of groups) {
  if (!PACKAGES[g]) {
    console.error(`unknown package group "${g}" (groups: ${Object.keys(PACKAGES).join(', ')})`);
    process.exit(2);
  }
}
const wanted = [...new Map(groups.flatMap((g) => PACKAGES[g]).map((n) => [n.pkg, n])).values()];
const missing = wanted.filter((n) => !n.ok()).map((n) => n.pkg);
if (missing.length > 0) {
  const root = process.getuid?.() === 0;
  if (!root || !has('apt-get', ['--version'])) {
    console.error(`These Debian packages are needed: ${missing.join(' ')}\n  sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`);
    process.exit(1);
  }
  console.log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const still = wanted.filter((n) => !n.ok()).map((n) => n.pkg);
  if (still.length) {
    console.error(`installed, but these still fail their check: ${still.join(' ')}`);
    process.exit(1);
  }
}
