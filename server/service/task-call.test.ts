import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { Metrics } from '../observability/metrics.ts';
import { Admission } from '../runtime/admission.ts';
import { collectCall, onlyEvent, openCall } from './task-call.ts';

function context(limit = 2) {
  return { admission: new Admission({ maxRequestsPerModel: limit, maxStreamsPerModel: limit }), metrics: new Metrics() };
}

async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
  const values = (await metrics.registry.getSingleMetric('seqserve_requests_total')!.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

async function* count(n: number, signal: AbortSignal, seen: AbortSignal[] = []) {
  seen.push(signal);
  for (let i = 0; i < n; i++) {
    if (signal.aborted) throw signal.reason;
    await new Promise((r) => setTimeout(r, 1));
    yield i;
  }
}

describe('openCall', () => {
  it('started() waits for the first event and keeps it for the first read, or throws what the work threw first, with the place given back', async () => {
    const ctx = context(1);
    const call = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'stream' }, (s) => count(3, s));
    await call.started();
    await call.started(); // once
    const seen: number[] = [];
    for await (const i of call) seen.push(i);
    expect(seen).toEqual([0, 1, 2]);
    const refused = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'stream' }, async function* () {
      await new Promise((r) => setTimeout(r, 1));
      yield* [] as number[];
      throw new SeqserveError('resource_exhausted', 'the waiting list is full');
    });
    await expect(refused.started()).rejects.toThrow(/waiting list is full/);
    expect(ctx.admission.count('m', 'stream')).toBe(0);
    expect(await outcomes(ctx.metrics)).toEqual({ ok: 1, resource_exhausted: 1 });
  });

  it('takes the place when opened, refuses past the limit before any work, and gives it back at the end', async () => {
    const ctx = context(1);
    const call = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'stream' }, (s) => count(3, s));
    expect(ctx.admission.count('m', 'stream')).toBe(1);
    expect(() => openCall(ctx, { model: 'm', endpoint: 'e', kind: 'stream' }, (s) => count(3, s))).toThrow(/limit/);
    const seen: number[] = [];
    for await (const i of call) seen.push(i);
    expect(seen).toEqual([0, 1, 2]);
    expect(ctx.admission.count('m', 'stream')).toBe(0);
    expect(await outcomes(ctx.metrics)).toEqual({ ok: 1 });
  });

  it('gives the place back when the consumer returns before reading; a synchronous refusal comes from openCall itself', async () => {
    const ctx = context();
    const seen: AbortSignal[] = [];
    const call = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'request' }, (s) => count(3, s, seen));
    await call.return();
    expect(seen).toEqual([]); // the generator's body never ran
    expect(ctx.admission.count('m', 'request')).toBe(0);
    expect(() =>
      openCall(ctx, { model: 'm', endpoint: 'e', kind: 'request' }, () => {
        throw new SeqserveError('invalid_argument', 'n: too many');
      }),
    ).toThrow('too many');
    expect(ctx.admission.count('m', 'request')).toBe(0);
    expect(await outcomes(ctx.metrics)).toEqual({ ok: 1, invalid_argument: 1 });
  });

  it('aborts the work when the consumer stops early, and when the transport signal aborts', async () => {
    const ctx = context();
    const signals: AbortSignal[] = [];
    const early = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'stream' }, (s) => count(100, s, signals));
    for await (const i of early) if (i === 1) break;
    expect(signals[0].aborted).toBe(true);

    const client = new AbortController();
    const gone = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'stream', signal: client.signal }, (s) => count(100, s, signals));
    await gone.next();
    client.abort(new SeqserveError('cancelled', 'client gone'));
    await expect(gone.next()).rejects.toThrow(/client gone/);
    expect(ctx.admission.count('m', 'stream')).toBe(0);
    expect(await outcomes(ctx.metrics)).toEqual({ ok: 1, cancelled: 1 });
  });

  it('counts a failure under the same labels with its code, and collects a reply', async () => {
    const ctx = context();
    const failing = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'request' }, async function* () {
      yield 1;
      throw new SeqserveError('invalid_argument', 'bad');
    });
    await expect(
      collectCall(failing, async (events) => {
        for await (const e of events) void e;
      }),
    ).rejects.toThrow('bad');
    const sum = await collectCall(
      openCall(ctx, { model: 'm', endpoint: 'e', kind: 'request' }, (s) => count(4, s)),
      async (events) => {
        let t = 0;
        for await (const e of events) t += e;
        return t;
      },
    );
    expect(sum).toBe(6);
    expect(await outcomes(ctx.metrics)).toEqual({ invalid_argument: 1, ok: 1 });
    expect(ctx.admission.count('m', 'request')).toBe(0);
  });

  it('counts work that fails on its aborted signal as the signal says (deadline, not the own cancel of the work)', async () => {
    const ctx = context();
    const deadline = new AbortController();
    const call = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'request', signal: deadline.signal }, async function* (signal) {
      yield 0;
      await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
      throw new SeqserveError('cancelled', 'the work saw its signal');
    });
    await call.next();
    const pending = call.next();
    deadline.abort(new SeqserveError('deadline_exceeded', 'too slow'));
    await expect(pending).rejects.toThrow('too slow');
    expect(await outcomes(ctx.metrics)).toEqual({ deadline_exceeded: 1 });
  });
});

describe('onlyEvent', () => {
  it("reads a one-event call to its end: the call ends finished (ok), its generator's cleanup runs, its signal is aborted with the shared 'call ended' reason", async () => {
    const ctx = context();
    let signal: AbortSignal | undefined;
    let cleanedUp = false;
    const call = openCall(ctx, { model: 'm', endpoint: 'e', kind: 'request' }, async function* (s) {
      signal = s;
      try {
        yield 42;
      } finally {
        cleanedUp = true;
      }
    });
    expect(await collectCall(call, onlyEvent)).toBe(42);
    expect(cleanedUp).toBe(true);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as SeqserveError).message).toBe('the call ended');
    expect(await outcomes(ctx.metrics)).toEqual({ ok: 1 });
  });

  it('stops a call that has more than one event after reading the second, and fails a call that has none', async () => {
    let produced = 0;
    let stopped = false;
    async function* many() {
      try {
        for (;;) yield ++produced;
      } finally {
        stopped = true;
      }
    }
    expect(await onlyEvent(many())).toBe(1);
    expect(produced).toBe(2);
    expect(stopped).toBe(true);
    await expect(onlyEvent((async function* () {})())).rejects.toThrow(/no result/);
  });
});
