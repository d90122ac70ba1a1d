import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_DIR } from '../server/grpc/load-proto.ts';
import { directEmissions, slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

// Another gRPC implementation: Python grpcio with stubs that protoc generates from the KServe proto
// (Debian packages protobuf-compiler, protobuf-compiler-grpc, python3-grpcio; .ci/run installs them).
let server: Awaited<ReturnType<typeof startTestServer>>;
let stubDir: string;

beforeAll(async () => {
  server = await startTestServer();
  stubDir = mkdtempSync(path.join(tmpdir(), 'kserve-py-'));
  execFileSync('protoc', [
    `-I${path.join(PROTO_DIR, 'kserve')}`,
    `--python_out=${stubDir}`,
    `--grpc_python_out=${stubDir}`,
    '--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin',
    path.join(PROTO_DIR, 'kserve', 'grpc_service.proto'),
  ]);
});
afterAll(async () => {
  rmSync(stubDir, { recursive: true, force: true });
  await server.close();
});

describe('KServe gRPC with a Python grpcio client', () => {
  it('gets metadata, an inference equal to onnxruntime-node, and NOT_FOUND for an unknown model', async () => {
    const inputs = slotTaggerInputs('leave Taipei on November 2nd');
    const script = path.join(import.meta.dirname, 'python', 'kserve_grpc_client.py');
    // Asynchronous: the server runs in this process and must keep answering while Python waits.
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, stubDir, server.grpc, JSON.stringify(inputs)], { encoding: 'utf8' });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ live: true, ready: true, server: 'seqserve' });
    expect(out.inputs).toEqual([
      ['ngram_ids', 'INT64', [-1, -1, 24]],
      ['shape_ids', 'INT64', [-1, -1]],
      ['word_ids', 'INT64', [-1, -1]],
    ]);
    const expected = await directEmissions(inputs);
    expect(out.infer).toMatchObject({ id: 'py-1', name: 'emissions', shape: [1, 5, expected.length / 5] });
    expect(out.infer.values).toEqual(Array.from(expected));
    expect(out.error.code).toBe('NOT_FOUND');
    expect(out.error.details).toMatch(/unknown model "nope"/);
  });
});
