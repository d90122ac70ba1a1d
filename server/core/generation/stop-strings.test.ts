import { describe, expect, it } from 'vitest';
import { StopStrings } from './stop-strings.ts';

function feed(stops: string[], pieces: string[]) {
  const s = new StopStrings(stops);
  const deltas: string[] = [];
  for (const p of pieces) {
    deltas.push(s.append(p));
    if (s.stopped) break;
  }
  const final = s.finalText();
  deltas.push(s.flush());
  return { deltas: deltas.filter(Boolean), stopped: s.stopped, final };
}

describe('StopStrings', () => {
  it('passes text through when there are no stop strings', () => {
    expect(feed([], ['a', 'b c'])).toEqual({ deltas: ['a', 'b c'], stopped: false, final: 'ab c' });
  });

  it('holds back a possible stop prefix, releases it when it does not complete', () => {
    expect(feed(['xyz'], ['ab x', 'y', 'q'])).toEqual({ deltas: ['ab ', 'xyq'], stopped: false, final: 'ab xyq' });
  });

  it('stops at the earliest stop string spanning pieces and never emits it', () => {
    expect(feed(['. ', 'end'], ['hello', ' wor', 'ld.', ' more'])).toEqual({ deltas: ['hello', ' wor', 'ld'], stopped: true, final: 'hello world' });
    expect(feed(['cd', 'b'], ['a', 'bcd'])).toEqual({ deltas: ['a'], stopped: true, final: 'a' });
  });

  it('releases held text at the end, and the deltas always add up to the final text', () => {
    expect(feed(['xyz'], ['ab', ' xy'])).toEqual({ deltas: ['ab', ' ', 'xy'], stopped: false, final: 'ab xy' });
    let seed = 3;
    const rnd = (n: number) => (seed = (seed * 16807) % 2147483647) % n;
    for (let trial = 0; trial < 300; trial++) {
      const pieces = Array.from({ length: 1 + rnd(8) }, () => 'abc '.slice(rnd(4), 1 + rnd(4)));
      const stops = Array.from({ length: rnd(3) }, () => 'abc '.slice(rnd(3), 2 + rnd(3)));
      const r = feed(stops, pieces);
      expect(r.deltas.join('')).toBe(r.final);
      // the same answer as searching the whole text at once
      const whole = pieces.join('');
      const at = Math.min(...stops.map((s) => whole.indexOf(s)).filter((i) => i >= 0));
      expect(r.final).toBe(Number.isFinite(at) ? whole.slice(0, at) : whole);
    }
  });
});
