// Run before the tests (and, with the argument `bench`, before the benchmarks): checks the Debian
// packages they need and, when running as root on Debian (CI, fresh machines), installs the missing
// ones; otherwise says which to install.
import { execFileSync, spawnSync } from 'node:child_process';

const TEST_NEEDS = [
  { pkg: 'curl', ok: () => has('curl', ['--version']) },
  { pkg: 'protobuf-compiler', ok: () => has('protoc', ['--version']) },
  { pkg: 'protobuf-compiler-grpc', ok: () => has('/usr/bin/grpc_python_plugin', ['--version'], true) },
  { pkg: 'python3-grpcio', ok: () => has('/usr/bin/python3', ['-c', 'import grpc']) },
  { pkg: 'python3-protobuf', ok: () => has('/usr/bin/python3', ['-c', 'import google.protobuf']) },
  // the spoken-QA test re-creates its spoken stories as the recipe made them
  { pkg: 'espeak-ng', ok: () => has('espeak-ng', ['--version']) },
  { pkg: 'sox', ok: () => has('sox', ['--version']) },
  // the fault-isolation test builds its faulty fixture model with onnx
  { pkg: 'python3-onnx', ok: () => has('/usr/bin/python3', ['-c', 'import onnx']) },
  // the web demo's tests drive Debian's Chromium headless
  { pkg: 'chromium', ok: () => has('/usr/bin/chromium', ['--version']) },
];
const BENCH_NEEDS = [{ pkg: 'wrk', ok: () => has('wrk', ['--version'], true) }];
const NEEDS = process.argv[2] === 'bench' ? BENCH_NEEDS : TEST_NEEDS;

function has(cmd, args, anyExit = false) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', input: '' });
  return !r.error && (anyExit || r.status === 0);
}

const missing = NEEDS.filter((n) => !n.ok()).map((n) => n.pkg);
if (missing.length > 0) {
  const root = process.getuid?.() === 0;
  if (!root || !has('apt-get', ['--version'])) {
    console.error(`These Debian packages are needed: ${missing.join(' ')}\n  sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.log(`installing: ${missing.join(' ')}`);
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
