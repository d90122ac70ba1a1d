import { describe, expect, it } from 'vitest';
import { SpelledWordTokenizer } from '../text/spelled-word-tokenizer.ts';
import { ChoiceOutput } from './output-processor.ts';

const VOCAB = ['<pad>', '<s>', '</s>', '<unk>', 'to', 'tokyo', '.', '@t', '#a'];
const tokenizer = new SpelledWordTokenizer(VOCAB, 3, new Set([0, 1, 2, 3]));

describe('ChoiceOutput', () => {
  it('turns tokens into events with pieces and text deltas, and ends at the token limit', () => {
    const out = new ChoiceOutput(tokenizer, 1, [], 3);
    const events = [4, 7, 8].map((t) => out.token(t, -0.5));
    expect(events.map((e) => [e.piece, e.delta])).toEqual([
      ['to', 'to'],
      ['t', ' t'],
      ['a', 'a'],
    ]);
    expect(events[0]).toEqual({ type: 'token', choice: 1, token: 4, piece: 'to', delta: 'to', logProb: -0.5 });
    expect(out.mustEnd).toBe('length');
    expect(out.finish('length')).toEqual({ type: 'finish', choice: 1, reason: 'length', text: 'to ta', tokens: 3, delta: '' });
  });

  it('holds text back for a stop string, ends at one (not emitted), and flushes what did not complete', () => {
    const stopped = new ChoiceOutput(tokenizer, 0, ['tokyo'], 10);
    expect([4, 5, 6].map((t) => (stopped.mustEnd ? '-' : stopped.token(t, 0).delta))).toEqual(['', 'to ', '-']); // "to" could start "tokyo"
    expect(stopped.mustEnd).toBe('stop');
    expect(stopped.finish('stop')).toMatchObject({ reason: 'stop', text: 'to ', delta: '' });
    const open = new ChoiceOutput(tokenizer, 0, ['tokyo'], 10);
    expect(open.token(4, 0).delta).toBe('');
    expect(open.mustEnd).toBeUndefined();
    expect(open.finish('stop')).toMatchObject({ text: 'to', delta: 'to', tokens: 1 });
  });

  it('names top alternatives and carries attention', () => {
    const out = new ChoiceOutput(tokenizer, 0, [], 10);
    expect(
      out.token(
        5,
        -0.1,
        [
          { token: 5, logProb: -0.1 },
          { token: 4, logProb: -3 },
        ],
        [0.25, 0.75],
      ),
    ).toMatchObject({
      top: [
        { token: 5, piece: 'tokyo', logProb: -0.1 },
        { token: 4, piece: 'to', logProb: -3 },
      ],
      attention: [0.25, 0.75],
    });
  });
});
