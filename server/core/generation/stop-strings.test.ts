import { describe, expect, it } from 'vitest';
import { StopStrings } from './stop-strings.ts';

function feed(stops: string[], pieces: string[]) {
  const s = new StopStrings(stops);
  let text = '';
  const deltas: string[] = [];
  for (const p of pieces) {
    text += p;
    deltas.push(s.update(text));
    if (s.stopped) break;
  }
  deltas.push(s.flush());
  return { deltas: deltas.filter(Boolean), stopped: s.stopped, final: s.finalText() };
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
  });
});
