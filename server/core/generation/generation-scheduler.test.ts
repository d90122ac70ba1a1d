import { describe, expect, it } from 'vitest';
import { GenerationScheduler, type Schedulable } from './generation-scheduler.ts';

const job = (rowsWanted = 1, parked?: number): Schedulable & { name: string } => ({
  name: `${rowsWanted}${parked ? 'p' : ''}`,
  rowsWanted,
  parked: parked ? new Array(parked).fill(0) : undefined,
  queuedAt: 0,
});

describe('GenerationScheduler', () => {
  it('admits newcomers at once into a quiet batch, all of them in one encoder run', () => {
    const s = new GenerationScheduler({ maxRows: 8, maxWaiting: 8 });
    const [a, b] = [job(), job(2)];
    s.enqueue(a);
    s.enqueue(b);
    expect(s.admitNow(0)).toBe(true);
    expect(s.admit(0)).toEqual({ rejoin: [], encode: [a, b], rows: 3 });
    expect(s.encoding).toBe(true);
    expect(s.waitingRequests).toBe(0);
  });

  it('under load waits for active/8 newcomers or admitWait iterations', () => {
    const s = new GenerationScheduler({ maxRows: 64, maxWaiting: 64, admitWait: 3 });
    s.enqueue(job());
    expect(s.admitNow(16)).toBe(false); // 16 active: wait for 2
    s.enqueue(job());
    expect(s.admitNow(16)).toBe(true);
    const t = new GenerationScheduler({ maxRows: 64, maxWaiting: 64, admitWait: 3 });
    t.enqueue(job());
    for (let i = 0; i < 2; i++) t.startIteration();
    expect(t.admitNow(16)).toBe(false);
    t.startIteration();
    expect(t.admitNow(16)).toBe(true);
    expect(t.admitNow(7)).toBe(true); // fewer than 8 active: at once
  });

  it('runs one encoder run at a time and reserves its rows until it ends', () => {
    const s = new GenerationScheduler({ maxRows: 4, maxWaiting: 8 });
    s.enqueue(job(2));
    expect(s.admit(0).rows).toBe(2);
    const later = job(1);
    s.enqueue(later);
    expect(s.admit(0)).toEqual({ rejoin: [], encode: [], rows: 0 }); // an encoder run is in flight
    s.encoderRunEnded(2);
    expect(s.admit(3)).toEqual({ rejoin: [], encode: [later], rows: 1 });
    s.encoderRunEnded(1);
    s.enqueue(job(2));
    expect(s.admit(3).encode).toEqual([]); // 1 free row, and the batch is not empty
    expect(s.admit(0).encode).toHaveLength(1);
  });

  it('takes a request wider than the free rows when nothing else runs', () => {
    const s = new GenerationScheduler({ maxRows: 2, maxWaiting: 8 });
    s.enqueue(job(4));
    expect(s.admit(0).rows).toBe(4);
  });

  it('parked requests rejoin first, without an encoder run, within the free rows', () => {
    const s = new GenerationScheduler({ maxRows: 4, maxWaiting: 8 });
    s.enqueue(job(1));
    s.admit(0); // an encoder run in flight
    const [p, q] = [job(1, 2), job(1, 2)];
    expect(s.resume(p)).toBe(true);
    expect(s.resume(p)).toBe(false); // already queued
    expect(s.resume(job(1))).toBe(false); // not parked
    s.resume(q);
    expect(s.admitNow(30)).toBe(true);
    // 4 rows - 1 reserved - 1 active = 2 free: one parked request rejoins, the other waits
    expect(s.admit(1)).toEqual({ rejoin: [q], encode: [], rows: 0 });
    expect(s.waitingRequests).toBe(1);
  });

  it('parks a request at highWater unread events and resumes it under half', () => {
    const s = new GenerationScheduler({ maxRows: 4, maxWaiting: 8, highWater: 4 });
    expect([3, 4].map((n) => s.shouldPark(n))).toEqual([false, true]);
    expect([2, 1].map((n) => s.shouldResume(n))).toEqual([false, true]);
  });

  it('refuses a request when the waiting list is full, and forgets a cancelled one', () => {
    const s = new GenerationScheduler({ maxRows: 4, maxWaiting: 1 });
    const a = job();
    s.enqueue(a);
    expect(() => s.enqueue(job())).toThrow(expect.objectContaining({ code: 'resource_exhausted' }));
    s.remove(a);
    expect(s.waitingRequests).toBe(0);
    expect(s.admitNow(0)).toBe(false);
  });
});
