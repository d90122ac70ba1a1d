import { DEFAULT_CONFIG } from '../server/config.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryBody } from '../server/core/kserve-binary.ts';
import { directEmissions, slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;

beforeAll(async () => {
  server = await startTestServer({
    limits: { ...DEFAULT_CONFIG.limits, maxBodyBytes: 64 * 1024, maxTensorElements: 100_000, maxTextChars: 2000, maxAudioSeconds: 60, maxStreamSeconds: 60 },
  });
});
afterAll(async () => {
  await server.close();
});

async function post(path: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}) {
  return fetch(`${server.http}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

describe('KServe v2 REST', () => {
  it('answers health, server and model metadata', async () => {
    expect(await (await fetch(`${server.http}/v2/health/live`)).json()).toEqual({ live: true });
    expect((await fetch(`${server.http}/v2/health/ready`)).status).toBe(200);
    const meta = await (await fetch(`${server.http}/v2`)).json();
    expect(meta.name).toBe('seqserve');
    expect(meta.extensions).toContain('binary_tensor_data');
    expect(meta.execution_providers).toEqual({ configured: ['cpu'], unavailable: {} });
    const m = await (await fetch(`${server.http}/v2/models/slots.tagger`)).json();
    expect(m.name).toBe('slots.tagger');
    expect(m.platform).toBe('onnxruntime_onnx');
    expect(m.inputs.map((i: { name: string }) => i.name).sort()).toEqual(['ngram_ids', 'shape_ids', 'word_ids']);
    expect(m.outputs[0]).toMatchObject({ name: 'emissions', datatype: 'FP32' });
    expect(m.parameters.execution_provider).toBe('cpu');
    // the model's own name is its task interface (text in, JSON spans out); its graph is slots.tagger
    expect(await (await fetch(`${server.http}/v2/models/slots`)).json()).toMatchObject({
      name: 'slots',
      platform: 'seqserve_task',
      inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'json_output', datatype: 'BYTES', shape: [-1] }],
      parameters: { task: 'slot-filling', graphs: 'slots.tagger', execution_provider: 'cpu' },
    });
    expect((await fetch(`${server.http}/v2/models/slots/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${server.http}/v2/models/slots/versions/9`)).status).toBe(404);
  });

  it('infers with JSON tensors and returns what onnxruntime-node computes directly', async () => {
    const inputs = slotTaggerInputs('I would like to arrive Taipei on November 2nd');
    const res = await post('/v2/models/slots/infer', JSON.stringify({ id: 'req-7', inputs }));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ model_name: 'slots.tagger', model_version: '1', id: 'req-7' });
    const expected = await directEmissions(inputs);
    expect(body.outputs[0].shape).toEqual([1, 9, expected.length / 9]);
    expect(body.outputs[0].data).toEqual(Array.from(expected));
  });

  it('infers with the binary tensor extension in both directions', async () => {
    const inputs = slotTaggerInputs('leave Taipei on November 2nd');
    const blobs = inputs.map((i) => new Uint8Array(BigInt64Array.from(i.data, BigInt).buffer));
    const { body, headerLength: sentHeaderLength } = binaryBody(
      {
        inputs: inputs.map((i, k) => ({ name: i.name, datatype: i.datatype, shape: i.shape, parameters: { binary_data_size: blobs[k].byteLength } })),
        outputs: [{ name: 'emissions', parameters: { binary_data: true } }],
      },
      blobs,
    );
    const res = await post('/v2/models/slots.tagger/versions/1/infer', body, {
      'Inference-Header-Content-Length': String(sentHeaderLength),
      'content-type': 'application/octet-stream',
    });
    expect(res.status).toBe(200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const bytes = new Uint8Array(await res.arrayBuffer());
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength)));
    const expected = await directEmissions(inputs);
    expect(json.outputs[0].parameters.binary_data_size).toBe(expected.byteLength);
    expect(new Float32Array(bytes.slice(headerLength).buffer)).toEqual(expected);
  });

  it('rejects bad requests with 4xx and a JSON error naming the problem', async () => {
    const inputs = slotTaggerInputs('fly to Paris');
    const cases: [string, string | Uint8Array<ArrayBuffer>, number, RegExp, Record<string, string>?][] = [
      ['/v2/models/slots/infer', '{"inputs": [', 400, /body: malformed JSON/],
      ['/v2/models/nope/infer', JSON.stringify({ inputs }), 404, /unknown model "nope"/],
      ['/v2/models/slots.decoder/infer', JSON.stringify({ inputs }), 404, /no graph "decoder"/],
      ['/v2/models/slots/infer', JSON.stringify({ inputs: [{ ...inputs[0], name: 'words' }, inputs[1], inputs[2]] }), 400, /inputs\[0\]\.name: "words" is not an input/],
      ['/v2/models/slots/infer', JSON.stringify({ inputs: [{ ...inputs[0], name: '__proto__' }, inputs[1], inputs[2]] }), 400, /inputs\[0\]\.name: "__proto__" is not an input/],
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [{ ...inputs[0], name: 'constructor' }, inputs[1], inputs[2]] }),
        400,
        /inputs\[0\]\.name: "constructor" is not an input/,
      ],
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [{ ...inputs[0], datatype: 'FP32' }, inputs[1], inputs[2]] }),
        400,
        /inputs\[0\]\.datatype: input "word_ids" takes INT64/,
      ],
      ['/v2/models/slots/infer', JSON.stringify({ inputs: [{ ...inputs[0], shape: [3] }, inputs[1], inputs[2]] }), 400, /inputs\[0\]\.shape: input "word_ids" has rank 2/],
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [inputs[0], { ...inputs[1], shape: [1, 3, 5] }, inputs[2]] }),
        400,
        /inputs\[1\]\.shape: dimension 2 of input "ngram_ids" must be 24/,
      ],
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [{ ...inputs[0], data: [1, 2] }, inputs[1], inputs[2]] }),
        400,
        /inputs\[0\]\.data: has 2 elements but shape \[1, 3\] needs 3/,
      ],
      ['/v2/models/slots/infer', JSON.stringify({ inputs: [inputs[0]] }), 400, /missing input\(s\)/],
      ['/v2/models/slots/infer', JSON.stringify({ inputs, outputs: [{ name: 'logits' }] }), 400, /outputs\[0\]\.name: "logits" is not an output/],
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [{ ...inputs[0], shape: [1, 2], data: [1, 2] }, inputs[1], inputs[2]] }),
        400,
        /inputs\[\d\]\.shape: inputs "word_ids" \(axis 1 = 2\) and "ngram_ids" \(axis 1 = 3\) share the dimension "tokens" but disagree/,
      ],
      // inputs that fit the signature but that the graph refuses: an id beyond its vocabulary
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [{ ...inputs[0], data: inputs[0].data.map(() => 1e9) }, inputs[1], inputs[2]] }),
        400,
        /ONNX Runtime rejected the inputs/,
      ],
      [
        '/v2/models/slots/infer',
        JSON.stringify({ inputs: [{ name: 'word_ids', datatype: 'INT64', shape: [1, 3], parameters: { binary_data_size: 24 } }, inputs[1], inputs[2]] }),
        400,
        /binary_data_size: declares 24 bytes but only 0/,
        {
          'Inference-Header-Content-Length': String(
            JSON.stringify({ inputs: [{ name: 'word_ids', datatype: 'INT64', shape: [1, 3], parameters: { binary_data_size: 24 } }, inputs[1], inputs[2]] }).length,
          ),
        },
      ],
      ['/v2/models/slots/infer', JSON.stringify({ inputs, pad: 'x'.repeat(70 * 1024) }), 413, /larger than the limit/],
    ];
    for (const [path, body, status, message, headers] of cases) {
      const res = await post(path, body, headers);
      const json = await res.json();
      expect({ path, status: res.status, error: json.error }).toMatchObject({ status, error: expect.stringMatching(message) });
    }
    // Still serving after all of that.
    expect((await post('/v2/models/slots/infer', JSON.stringify({ inputs }))).status).toBe(200);
  });

  it('exports Prometheus metrics by model and outcome', async () => {
    const text = await (await fetch(`${server.http}/metrics`)).text();
    expect(text).toMatch(/seqserve_requests_total\{model="slots.tagger",endpoint="kserve_infer",outcome="ok"\} \d+/);
    expect(text).toMatch(/seqserve_requests_total\{model="slots.tagger",endpoint="kserve_infer",outcome="invalid_argument"\} \d+/);
    expect(text).toMatch(/seqserve_request_duration_seconds_bucket\{le="0.005",model="slots.tagger",endpoint="kserve_infer"\}/);
    expect(text).toMatch(/seqserve_queue_duration_seconds_count\{model="slots.tagger"\} \d+/);
    expect(text).toMatch(/seqserve_inflight_requests\{model="slots.tagger",endpoint="kserve_infer"\} 0/);
    expect(text).toMatch(/seqserve_model_ready\{model="slots"\} 1/);
    for (const model of ['chat', 'caption']) expect(text).toMatch(new RegExp(`seqserve_waiting_requests\\{model="${model}"\\} 0`)); // the engines' wait lists, idle
  });

  it('works with plain curl', async () => {
    const inputs = slotTaggerInputs('leave Taipei on November 2nd');
    const run = promisify(execFile);
    const ready = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${server.http}/v2/models/slots/ready`]);
    expect(ready.stdout).toBe('200');
    const { stdout } = await run('curl', ['-s', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ inputs }), `${server.http}/v2/models/slots/infer`]);
    expect(JSON.parse(stdout).outputs[0].data).toEqual(Array.from(await directEmissions(inputs)));
    const slots = await run('curl', ['-s', '-d', '{"text": "I would like to arrive Taipei on November 2nd"}', `${server.http}/v1/slots`]);
    expect(JSON.parse(slots.stdout).slots.map((s: { value: string }) => s.value)).toEqual(['Taipei', 'November 2nd']);
  });

  it('returns a request id and 404 JSON for unknown routes', async () => {
    const res = await fetch(`${server.http}/v3/nothing`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/no route/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});
