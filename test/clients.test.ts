import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeqserveGrpcClient } from '../clients/lib/grpc-client.ts';
import { SeqserveHttpClient, SeqserveHttpError } from '../clients/lib/http-client.ts';
import { directEmissions, slotTaggerInputs } from './helpers/slot-features.ts';
import { startTestServer } from './helpers/test-server.ts';

let server: Awaited<ReturnType<typeof startTestServer>>;
const CLI = path.resolve(import.meta.dirname, '..', 'bin', 'seqserve.js');

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('TypeScript client library', () => {
  it('infers over HTTP (JSON and binary) and gRPC with the same result as onnxruntime-node', async () => {
    const inputs = slotTaggerInputs('fly from Boston to Denver on Monday');
    const expected = Array.from(await directEmissions(inputs));
    const http = new SeqserveHttpClient(server.http);
    expect(await http.live()).toBe(true);
    expect((await http.infer('slots', inputs)).outputs[0].data).toEqual(expected);
    expect((await http.infer('slots', inputs, { binary: true, outputs: ['emissions'] })).outputs[0].data).toEqual(expected);
    const grpc = new SeqserveGrpcClient(server.grpc);
    try {
      expect(await grpc.modelReady('slots')).toBe(true);
      const r = await grpc.infer('slots', inputs, { id: 'c1' });
      expect(r.id).toBe('c1');
      expect(r.outputs[0].data).toEqual(expected);
      const streamed = [];
      for await (const s of grpc.streamInfer([
        { model: 'slots', inputs, id: 'a' },
        { model: 'none', inputs, id: 'b' },
      ]))
        streamed.push(s);
      expect(streamed.map((s) => ('error' in s ? `${s.id}:error` : s.id)).sort()).toEqual(['a', 'b:error']);
    } finally {
      grpc.close();
    }
  });

  it('classifies texts in one batch (POST /predict), with attention when asked', async () => {
    const http = new SeqserveHttpClient(server.http);
    const texts = ['Subject: FREE money\nFrom: cashnow.biz\n\nClick here to claim your prize', 'Subject: Re: patch for the build\nFrom: example.org\n\nThanks, applied.'];
    const plain = await http.predict(texts);
    expect(plain.map((p) => p.map((x) => x.label).sort())).toEqual([
      ['ham', 'spam'],
      ['ham', 'spam'],
    ]);
    const [withAttention] = await http.predict(texts.slice(0, 1), { attention: true, model: 'spam' });
    expect(withAttention.predictions.map((p) => p.label)).toEqual(plain[0].map((p) => p.label));
    withAttention.predictions.forEach((p, i) => expect(p.score).toBeCloseTo(plain[0][i].score, 5));
    expect(withAttention.attention[0]).toEqual({ text: 'Subject', start: 0, end: 7, weight: expect.any(Number) as number });
    const [withShares] = await http.predict(texts.slice(0, 1), { contributions: true, rawScores: true });
    expect(withShares.contributions.tokens[0]).toEqual({ text: 'Subject', start: 0, end: 7, logits: { ham: 0, spam: expect.any(Number) as number } });
    expect(withShares.contributions.rest.ham).toBeCloseTo(withShares.predictions.find((p) => p.label === 'ham')!.score, 4);
    expect(withShares.contributions.tokens.reduce((a, t) => a + t.logits.spam, 0)).toBeGreaterThan(0); // "FREE money ... claim your prize"
    const err = await http.predict(['  ']).catch((e: unknown) => e);
    expect((err as SeqserveHttpError).message).toMatch(/inputs\[0\]\[0\]: must contain at least one word/);
  });

  it('raises SeqserveHttpError with the server message', async () => {
    const err = await new SeqserveHttpClient(server.http).slots('  ').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SeqserveHttpError);
    expect((err as SeqserveHttpError).status).toBe(400);
    expect((err as SeqserveHttpError).message).toMatch(/text: must not be empty/);
  });
});

describe('seqserve CLI', () => {
  const run = (...args: string[]) => promisify(execFile)('node', [CLI, '--url', server.http, '--grpc-address', server.grpc, ...args], { encoding: 'utf8' });

  it('prints slots, models and gRPC inference results', async () => {
    const slots = await run('slots', 'leave Taipei on November 2nd');
    expect(slots.stdout).toMatch(/fromloc\.city_name\s+"Taipei"\s+\[6, 12\)/);
    expect(slots.stdout).toMatch(/depart_date\s+"November 2nd"/);
    expect((await run('models')).stdout).toMatch(/slots\s+ready\s+v1/);
    const inputs = slotTaggerInputs('to Paris');
    const infer = JSON.parse((await run('infer', 'slots', '--grpc', '--inputs', JSON.stringify(inputs))).stdout);
    expect(infer.outputs[0].shape).toEqual([1, 2, infer.outputs[0].data.length / 2]);
    // the same keys over gRPC as over REST (KServe's snake_case)
    const rest = JSON.parse((await run('infer', 'slots', '--inputs', JSON.stringify(inputs))).stdout);
    expect(Object.keys(infer).sort()).toEqual(Object.keys(rest).sort());
    expect(infer).toMatchObject({ model_name: 'slots.tagger', model_version: '1' });
    expect(Object.keys(infer.outputs[0]).sort()).toEqual(Object.keys(rest.outputs[0]).sort());
  });

  it('classifies texts and prints the words with the most attention, or with the largest share of the decision', async () => {
    const out = (await run('classify', 'Subject: FREE money\n\nClick here to claim your prize', '--attention', '3')).stdout.split('\n');
    expect(out[0]).toMatch(/^(spam|ham) [01]\.\d{4}  (spam|ham) [01]\.\d{4}$/);
    expect(out.slice(1, 4).every((l) => /^ {2}0\.\d{3} {2}".+" +\[\d+, \d+\)$/.test(l))).toBe(true);
    const words = (await run('classify', 'Subject: FREE money\n\nClick here to claim your prize', '--words', '3')).stdout.trim().split('\n');
    expect(words).toHaveLength(4);
    expect(words.slice(1).every((l) => /^ {2}[+-]\d+\.\d{3} {2}".+" +\[\d+, \d+\)$/.test(l))).toBe(true);
    const pushes = words.slice(1).map((l) => Math.abs(Number(l.trim().split(/\s+/)[0])));
    expect([...pushes].sort((a, b) => b - a)).toEqual(pushes);
    const json = JSON.parse((await run('classify', 'hello there', 'win a prize', '--json')).stdout) as unknown[];
    expect(json).toHaveLength(2);
  });

  it('exits non-zero with the server error', async () => {
    const err = (await run('slots', '', '--model', 'nope').catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/seqserve: POST \/v1\/slots: 400 text: must not be empty/);
  });
});
