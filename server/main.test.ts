import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.ts';
import { parseServeArgs, SERVE_USAGE } from './main.ts';

describe('seqserve serve options', () => {
  it('defaults to safe limits and takes every limit from a flag', () => {
    expect(parseServeArgs([]).limits).toEqual(DEFAULT_CONFIG.limits);
    const c = parseServeArgs([
      '--max-audio-seconds',
      '30',
      '--max-stream-seconds',
      '60',
      '--max-audio-message',
      '3200',
      '--max-text-chars',
      '500',
      '--max-tensor-elements',
      '1000',
      '--max-axis-length',
      '512',
      '--max-requests',
      '4',
      '--max-streams',
      '8',
      '--request-timeout',
      '2.5',
      '--max-body-bytes',
      '1024',
      '--max-image-pixels',
      '4096',
      '--shutdown-grace',
      '0',
      '--cors-origins',
      'http://a.example, http://b.example',
    ]);
    expect(c.limits).toEqual({
      maxBodyBytes: 1024,
      maxTensorElements: 1000,
      maxAxisLength: 512,
      maxTextChars: 500,
      maxAudioSeconds: 30,
      maxStreamSeconds: 60,
      maxAudioMessageBytes: 3200,
      maxImagePixels: 4096,
      maxRequestsPerModel: 4,
      maxStreamsPerModel: 8,
      requestTimeoutSeconds: 2.5,
    });
    expect(c.shutdownGraceSeconds).toBe(0);
    expect(c.corsOrigins).toEqual(['http://a.example', 'http://b.example']);
    expect(parseServeArgs([]).limits.maxAxisLength).toBe(128);
    expect(parseServeArgs(['--max-axis-length', '0']).limits.maxAxisLength).toBe(0); // unbounded
  });

  it('runs models in executor threads unless told not to, with one instance per model by default', () => {
    expect(parseServeArgs([]).runtime.executors).toBe(true);
    expect(parseServeArgs(['--executors', 'off']).runtime.executors).toBe(false);
    expect(parseServeArgs(['--executors', 'on']).runtime.executors).toBe(true);
    expect(parseServeArgs([]).runtime.instances).toBe(1);
    expect(parseServeArgs(['--model-instances', '3']).runtime.instances).toBe(3);
    expect(() => parseServeArgs(['--model-instances', '0'])).toThrow(/model-instances/);
    expect(parseServeArgs([]).runtime.executorNice).toBe(5);
    expect(parseServeArgs(['--executor-nice', '0']).runtime.executorNice).toBe(0);
    expect(() => parseServeArgs(['--executor-nice', '20'])).toThrow(/--executor-nice: "20" is not a niceness from 0 to 19/);
  });

  it('refuses model load and unload unless --model-control explicit', () => {
    expect(parseServeArgs([]).modelControl).toBe('none');
    expect(parseServeArgs(['--model-control', 'explicit']).modelControl).toBe('explicit');
    expect(() => parseServeArgs(['--model-control', 'poll'])).toThrow(/--model-control: "poll" is not none or explicit/);
  });

  it('takes ONNX Runtime inter-op threads and graph optimisation level from flags, listed in the usage', () => {
    expect(parseServeArgs([]).runtime).toMatchObject({ intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all' });
    expect(parseServeArgs(['--intra-op-threads', '3', '--inter-op-threads', '2', '--graph-optimization-level', 'basic']).runtime).toMatchObject({
      intraOpThreads: 3,
      interOpThreads: 2,
      graphOptimizationLevel: 'basic',
    });
    for (const level of ['disabled', 'basic', 'extended', 'all']) expect(parseServeArgs([`--graph-optimization-level=${level}`]).runtime.graphOptimizationLevel).toBe(level);
    expect(() => parseServeArgs(['--inter-op-threads', '0'])).toThrow(/--inter-op-threads: "0" is not a positive integer/);
    expect(() => parseServeArgs(['--inter-op-threads', '1.5'])).toThrow(/--inter-op-threads/);
    expect(() => parseServeArgs(['--graph-optimization-level', 'max'])).toThrow(/--graph-optimization-level: "max" is not one of disabled, basic, extended, all/);
    expect(() => parseServeArgs(['--graph-optimization-level', 'ALL'])).toThrow(/--graph-optimization-level/);
    expect(SERVE_USAGE).toMatch(/--inter-op-threads N .*\(default 1\)/s);
    expect(SERVE_USAGE).toMatch(/--graph-optimization-level LEVEL\s+ONNX Runtime graph optimisations: disabled\|basic\|extended\|all\s+\(default all\)/);
  });

  it('takes --processes N (default 1), listed in the usage', () => {
    expect(parseServeArgs([]).processes).toBe(1);
    expect(parseServeArgs(['--processes', '4']).processes).toBe(4);
    expect(() => parseServeArgs(['--processes', '0'])).toThrow(/--processes: "0" is not a positive integer/);
    expect(() => parseServeArgs(['--processes', 'two'])).toThrow(/--processes/);
    expect(() => parseServeArgs(['--processes', '2', '--model-control', 'explicit'])).toThrow(/--processes above 1 cannot go with --model-control explicit/);
    expect(SERVE_USAGE).toMatch(/--processes N .*\(default 1\)/s);
  });

  it('refuses bad values naming the flag', () => {
    expect(() => parseServeArgs(['--max-streams', '0'])).toThrow(/--max-streams/);
    expect(() => parseServeArgs(['--max-axis-length=-1'])).toThrow(/--max-axis-length: "-1" is not a positive integer/);
    expect(() => parseServeArgs(['--max-axis-length', '2.5'])).toThrow(/--max-axis-length/);
    expect(() => parseServeArgs(['--request-timeout', '-1'])).toThrow(/--request-timeout/);
    expect(() => parseServeArgs(['--max-audio-seconds', 'lots'])).toThrow(/--max-audio-seconds/);
    expect(() => parseServeArgs(['--executors', 'yes'])).toThrow(/--executors: "yes" is not on or off/);
  });
});
