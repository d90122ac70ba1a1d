import { describe, expect, it } from 'vitest';
import { Admission } from './admission.ts';

describe('Admission', () => {
  it('admits up to the limit per model and kind, refuses the next with RESOURCE_EXHAUSTED, and frees places once', () => {
    const rejected: string[] = [];
    const a = new Admission({ maxRequestsPerModel: 2, maxStreamsPerModel: 1 }, undefined, (m, k) => rejected.push(`${m}/${k}`));
    const s1 = a.enter('chat', 'stream');
    expect(() => a.enter('chat', 'stream')).toThrow(expect.objectContaining({ code: 'resource_exhausted', retryAfterSeconds: 1 }));
    const other = a.enter('asr', 'stream'); // other models have their own places
    const r1 = a.enter('chat', 'request');
    const r2 = a.enter('chat', 'request');
    expect(() => a.enter('chat', 'request')).toThrow(/limit/);
    s1();
    s1(); // a second release changes nothing
    expect(a.count('chat', 'stream')).toBe(0);
    a.enter('chat', 'stream');
    r1();
    r2();
    other();
    expect(rejected).toEqual(['chat/stream', 'chat/request']);
  });
});
