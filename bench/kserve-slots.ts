/**
 * KServe infer of the slot tagger against a server in its own process — HTTP JSON and HTTP binary
 * driven by wrk (C), gRPC by the grpc-js client — vs onnxruntime-node called directly in this
 * process, at concurrency 1 and 16. Prints p50/p99 and the latency the server adds at p50.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { SeqserveGrpcClient } from '../clients/lib/grpc-client.ts';
import { encodeRaw } from '../clients/lib/tensors.ts';
import { BUNDLED_MODELS_DIR } from '../server/config.ts';
import { binaryBody } from '../server/core/kserve-binary.ts';
import { PROTO_DIR } from '../server/grpc/load-proto.ts';
import { slotTaggerInputs } from '../test/helpers/slot-features.ts';
import { spawnServer } from './spawn-server.ts';
import { runLoad, table, type LoadResult } from './stats.ts';
import { wrkLoad } from './wrk.ts';

function binaryRequest(inputs: ReturnType<typeof slotTaggerInputs>): { body: Uint8Array; headerLength: number } {
  const blobs = inputs.map((i) => encodeRaw(i.datatype, i.data));
  const header = {
    inputs: inputs.map((t, i) => ({ name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: blobs[i].byteLength } })),
    parameters: { binary_data_output: true },
  };
  return binaryBody(header, blobs);
}

/** gRPC load from Python grpcio (C core), so the row measures the server rather than a JS client. */
async function grpcioLoad(dir: string, address: string, inputsFile: string, requests: number, concurrency: number): Promise<LoadResult> {
  const script = path.join(import.meta.dirname, 'grpc_load.py');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, dir, address, inputsFile, String(requests), String(concurrency)]);
  const r = JSON.parse(stdout) as { p50: number; p99: number; per_second: number };
  return { label: 'gRPC ModelInfer (Python grpcio)', concurrency, requests, seconds: requests / r.per_second, p50: r.p50, p99: r.p99, perSecond: r.per_second };
}

export async function benchKserveSlots(requests: number, seconds: number): Promise<string> {
  const inputs = slotTaggerInputs('I would like to arrive Taipei on November 2nd');
  const session = await ort.InferenceSession.create(path.join(BUNDLED_MODELS_DIR, 'slots', 'tagger.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor('int64', BigInt64Array.from(i.data, BigInt), i.shape)]));
  const server = await spawnServer(['--providers', 'cpu']);
  const url = `http://127.0.0.1:${server.httpPort}/v2/models/slots/infer`;
  const json = new TextEncoder().encode(JSON.stringify({ inputs }));
  const binary = binaryRequest(inputs);
  const grpc = new SeqserveGrpcClient(`127.0.0.1:${server.grpcPort}`);
  const stubs = mkdtempSync(path.join(tmpdir(), 'bench-grpc-'));
  const kserveProto = path.join(PROTO_DIR, 'kserve');
  execFileSync('protoc', [
    `-I${kserveProto}`,
    `--python_out=${stubs}`,
    `--grpc_python_out=${stubs}`,
    '--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin',
    path.join(kserveProto, 'grpc_service.proto'),
  ]);
  writeFileSync(path.join(stubs, 'inputs.json'), JSON.stringify(inputs));
  const rows: LoadResult[] = [];
  try {
    for (let i = 0; i < 300; i++) await Promise.all([session.run(feeds), grpc.infer('slots', inputs)]); // warm-up
    for (const concurrency of [1, 16]) {
      rows.push(await runLoad('onnxruntime-node in-process', concurrency, requests, () => session.run(feeds)));
      rows.push(await wrkLoad('HTTP KServe JSON (wrk)', url, json, { 'Content-Type': 'application/json' }, concurrency, seconds));
      // the same load with wrk at the lowest priority: the clients use only what the server leaves, as
      // clients on other machines would (on 2 shared cores the row above also measures wrk)
      if (concurrency > 1) rows.push(await wrkLoad('HTTP KServe JSON (wrk at nice 19)', url, json, { 'Content-Type': 'application/json' }, concurrency, seconds, 19));
      rows.push(
        await wrkLoad(
          'HTTP KServe binary (wrk)',
          url,
          binary.body,
          { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(binary.headerLength) },
          concurrency,
          seconds,
        ),
      );
      rows.push(await grpcioLoad(stubs, `127.0.0.1:${server.grpcPort}`, path.join(stubs, 'inputs.json'), requests, concurrency));
      rows.push(await runLoad('gRPC ModelInfer (grpc-js client)', concurrency, requests, () => grpc.infer('slots', inputs)));
    }
  } finally {
    grpc.close();
    rmSync(stubs, { recursive: true, force: true });
    await server.stop();
  }
  // two server processes on the same port (`--processes 2`), so HTTP and JSON work has both cores
  const two = await spawnServer(['--providers', 'cpu', '--processes', '2']);
  try {
    const base = `http://127.0.0.1:${two.httpPort}`;
    // warm both workers: 16 connections at a time, as wrk will open
    await wrkLoad('warm-up', `${base}/v2/models/slots/infer`, json, { 'Content-Type': 'application/json' }, 16, 2);
    rows.push(await wrkLoad('HTTP KServe JSON (wrk at nice 19), `--processes 2`', `${base}/v2/models/slots/infer`, json, { 'Content-Type': 'application/json' }, 16, seconds, 19));
  } finally {
    await two.stop();
    await session.release();
  }
  const baseline = (r: LoadResult) => rows.find((b) => b.concurrency === r.concurrency && b.label.startsWith('onnxruntime-node'));
  return [
    `### KServe infer, slot tagger (one 9-token sentence)`,
    '',
    `In-process and gRPC rows: ${requests} requests each; wrk rows: ${seconds} s each. Clients run on the same 2 cores as the server. Server: one process, 1 intra-op thread, CPU provider.`,
    '',
    table(rows, baseline),
  ].join('\n');
}
