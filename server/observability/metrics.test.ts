import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { Metrics } from './metrics.ts';

describe('Metrics', () => {
  it('a failing and a succeeding request are recorded under the same labels; only the outcome differs', async () => {
    const metrics = new Metrics();
    await metrics.track('asr', 'speech_recognize', async () => 'ok');
    await expect(metrics.track('asr', 'speech_recognize', () => Promise.reject(new SeqserveError('cancelled', 'gone')))).rejects.toThrow('gone');
    await expect(metrics.track('asr', 'speech_recognize', () => Promise.reject(new Error('a bug')))).rejects.toThrow('a bug');
    const requests = (await metrics.requests.get()).values;
    expect(requests.map((v) => v.labels)).toEqual([
      { model: 'asr', endpoint: 'speech_recognize', outcome: 'ok' },
      { model: 'asr', endpoint: 'speech_recognize', outcome: 'cancelled' },
      { model: 'asr', endpoint: 'speech_recognize', outcome: 'internal' },
    ]);
    const durations = (await metrics.requestDuration.get()).values.filter((v) => v.metricName === 'seqserve_request_duration_seconds_count');
    expect(durations).toEqual([expect.objectContaining({ labels: { model: 'asr', endpoint: 'speech_recognize' }, value: 3 })]);
    expect((await metrics.inflight.get()).values).toEqual([expect.objectContaining({ labels: { model: 'asr', endpoint: 'speech_recognize' }, value: 0 })]);
  });
});
