import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kserveGrpcClient } from './helpers/kserve-grpc-client.ts';
import { directEmissions, slotTaggerInputs } from './helpers/slot-features.ts';
import { startBundledServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startBundledServer>>;
let client: ReturnType<typeof kserveGrpcClient>;

beforeAll(async () => {
  server = await startBundledServer(['slots']);
  client = kserveGrpcClient(server.grpc);
});
afterAll(async () => {
  client.close();
  await server.close();
});

function typedRequest(text: string, id = '') {
  const inputs = slotTaggerInputs(text);
  return {
    inputs,
    request: {
      model_name: 'slots',
      id,
      inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, contents: { int64_contents: i.data.map(String) } })),
    },
  };
}

async function grpcErrorOf(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(
    () => {
      throw new Error('expected a gRPC error');
    },
    (err: ServiceError) => err,
  );
}

describe('KServe v2 gRPC', () => {
  it('answers liveness, readiness, metadata and health', async () => {
    expect(await client.serverLive({})).toEqual({ live: true });
    expect(await client.serverReady({})).toEqual({ ready: true });
    expect(await client.modelReady({ name: 'slots', version: '' })).toEqual({ ready: true });
    const meta = await client.serverMetadata({});
    expect(meta.name).toBe('seqserve');
    const m = await client.modelMetadata({ name: 'slots.tagger' });
    expect(m.platform).toBe('onnxruntime_onnx');
    expect(m.versions).toEqual(['1']);
    const ngrams = m.inputs.find((i: { name: string }) => i.name === 'ngram_ids');
    expect(ngrams).toEqual({ name: 'ngram_ids', datatype: 'INT64', shape: ['-1', '-1', '24'] });
    expect(await client.healthCheck({ service: '' })).toEqual({ status: 'SERVING' });
    expect(await client.healthCheck({ service: 'inference.GRPCInferenceService' })).toEqual({ status: 'SERVING' });
    expect((await grpcErrorOf(client.healthCheck({ service: 'nope' }))).code).toBe(status.NOT_FOUND);
    expect(await grpcErrorOf(client.healthCheck({ service: 'b' + '😀'.repeat(50_000) }))).toMatchObject({ code: status.NOT_FOUND, details: expect.stringMatching(/…$/) });
  });

  it('infers with typed contents and with raw_input_contents', async () => {
    const { inputs, request } = typedRequest('I would like to arrive Taipei on November 2nd', 'g1');
    const expected = await directEmissions(inputs);
    const typed = await client.modelInfer(request);
    expect(typed.id).toBe('g1');
    expect(typed.outputs[0]).toMatchObject({ name: 'emissions', datatype: 'FP32', shape: ['1', '9', String(expected.length / 9)] });
    expect(new Float32Array(new Uint8Array(typed.raw_output_contents[0]).buffer)).toEqual(expected);

    const raw = await client.modelInfer({
      model_name: 'slots.tagger',
      model_version: '1',
      inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
      raw_input_contents: inputs.map((i) => Buffer.from(BigInt64Array.from(i.data, BigInt).buffer)),
    });
    expect(new Float32Array(new Uint8Array(raw.raw_output_contents[0]).buffer)).toEqual(expected);
  });

  it('maps bad requests to INVALID_ARGUMENT / NOT_FOUND with a message', async () => {
    const { request } = typedRequest('fly to Paris');
    const unknown = await grpcErrorOf(client.modelInfer({ ...request, model_name: 'nope' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/unknown model "nope"/);
    const wrongName = await grpcErrorOf(client.modelInfer({ ...request, inputs: [{ ...request.inputs[0], name: 'x' }, ...request.inputs.slice(1)] }));
    expect(wrongName.code).toBe(status.INVALID_ARGUMENT);
    expect(wrongName.details).toMatch(/inputs\[0\]\.name: "x" is not an input/);
    const shortRaw = await grpcErrorOf(
      client.modelInfer({
        model_name: 'slots',
        inputs: request.inputs.map(({ contents: _c, ...i }) => i),
        raw_input_contents: [Buffer.alloc(3), Buffer.alloc(8), Buffer.alloc(8)],
      }),
    );
    expect(shortRaw.code).toBe(status.INVALID_ARGUMENT);
    expect(shortRaw.details).toMatch(/inputs\[0\]\.data: has 3 bytes/);
    expect((await grpcErrorOf(client.modelMetadata({ name: 'slots', version: '7' }))).code).toBe(status.NOT_FOUND);
    // a message that echoes a 100,000-character name is cut to fit the status trailer (uncut, the client saw DEADLINE_EXCEEDED)
    const long = await grpcErrorOf(client.modelReady({ name: 'x'.repeat(100_000), version: '' }));
    expect(long.code).toBe(status.NOT_FOUND);
    expect(long.details).toMatch(/^unknown model "xxx.*…$/);
    expect(long.details.length).toBeLessThanOrEqual(1024);
    // cut at an odd place of a name of emoji (surrogate pairs): half a pair made grpc-js's encodeURI throw and the process exit
    const odd = await grpcErrorOf(client.modelReady({ name: 'a' + '😀'.repeat(50_000), version: '' }));
    expect(odd).toMatchObject({ code: status.NOT_FOUND, details: expect.stringMatching(/^unknown model "a😀😀.*😀…$/) });
    expect(await client.serverLive({})).toEqual({ live: true });
  });

  it('streams many inferences over ModelStreamInfer, reporting a bad one in-band', async () => {
    const stream = client.streamInfer();
    const responses: { error_message: string; infer_response: { id: string } }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: (typeof responses)[number]) => responses.push(r));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const sentences = ['leave Taipei on November 2nd', 'fly from Boston to Denver', 'book a flight to Tokyo tomorrow'];
    sentences.forEach((s, k) => stream.write(typedRequest(s, `s${k}`).request));
    stream.write({ ...typedRequest('x', 'bad').request, model_name: 'missing' });
    stream.end();
    await done;
    expect(responses.map((r) => r.infer_response.id).sort()).toEqual(['bad', 's0', 's1', 's2']);
    const bad = responses.find((r) => r.infer_response.id === 'bad');
    expect(bad?.error_message).toMatch(/unknown model "missing"/);
    expect(responses.filter((r) => r.error_message === '')).toHaveLength(3);
  });
});
