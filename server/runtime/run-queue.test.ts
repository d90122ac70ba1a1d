import { describe, expect, it } from 'vitest';
import { SeqserveError } from '../core/errors.ts';
import { RunQueue } from './run-queue.ts';

describe('RunQueue', () => {
  it('runs at most maxConcurrent at once, in FIFO order, and sheds work past maxQueued', async () => {
    const waits: number[] = [];
    const q = new RunQueue('m', { maxConcurrent: 1, maxQueued: 2 }, (s) => waits.push(s));
    const order: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = q.run(async () => {
      await gate;
      order.push(1);
    });
    const second = q.run(async () => order.push(2));
    const third = q.run(async () => order.push(3));
    expect(q.depth).toBe(2);
    const shed = await q.run(async () => 4).catch((e: unknown) => e);
    expect(shed).toBeInstanceOf(SeqserveError);
    expect((shed as SeqserveError).code).toBe('resource_exhausted');
    expect((shed as SeqserveError).retryAfterSeconds).toBe(1);
    release();
    await Promise.all([first, second, third]);
    expect(order).toEqual([1, 2, 3]);
    expect(waits).toHaveLength(3);
    await q.idle();
  });

  it('frees its slot when work throws', async () => {
    const q = new RunQueue('m', { maxConcurrent: 1, maxQueued: 0 });
    await expect(q.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(q.run(async () => 5)).resolves.toBe(5);
  });
});
