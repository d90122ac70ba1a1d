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

  it("seqserve_waiting_requests reports each generation model's waiting count when scraped", async () => {
    const metrics = new Metrics();
    expect(await metrics.registry.getSingleMetricAsString('seqserve_waiting_requests')).not.toMatch(/model=/);
    metrics.waitingCounts = () => [
      ['chat', 3],
      ['caption', 0],
    ];
    expect(await metrics.registry.getSingleMetricAsString('seqserve_waiting_requests')).toMatch(
      /seqserve_waiting_requests\{model="chat"\} 3\nseqserve_waiting_requests\{model="caption"\} 0/,
    );
    metrics.waitingCounts = () => [['chat', 0]]; // an unloaded model's series goes away
    const text = await metrics.registry.getSingleMetricAsString('seqserve_waiting_requests');
    expect(text).toMatch(/seqserve_waiting_requests\{model="chat"\} 0/);
    expect(text).not.toMatch(/caption/);
  });
});
