/**
 * The output side of one choice (vLLM's output processor): its tokens become events with text
 * deltas (incremental detokenisation, then stop strings checked on each delta), and it decides when
 * the choice ends and why: a stop string or EOS ('stop'), or the token limit ('length').
 */
import type { FinishEvent, FinishReason, TokenEvent, TopLogProb } from './generate-request.ts';
import { type Detokenizer, IncrementalDetokenizer } from './incremental-detokenizer.ts';
import { StopStrings } from './stop-strings.ts';

export interface OutputTokenizer extends Detokenizer {
  /** How one token reads on its own. */
  piece(id: number): string;
}

export class ChoiceOutput {
  readonly tokens: number[] = [];
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stops: StopStrings;

  constructor(
    private readonly tokenizer: OutputTokenizer,
    readonly choice: number,
    stop: readonly string[],
    private readonly maxTokens: number,
  ) {
    this.detokenizer = new IncrementalDetokenizer(tokenizer);
    this.stops = new StopStrings(stop);
  }

  /** The last token (undefined before the first). */
  get lastToken(): number | undefined {
    return this.tokens[this.tokens.length - 1];
  }

  /** Adds a generated token (not EOS); returns its event. */
  token(token: number, logProb: number, top?: readonly { token: number; logProb: number }[], attention?: number[]): TokenEvent {
    this.tokens.push(token);
    const delta = this.stops.append(this.detokenizer.next(this.tokens));
    const event: TokenEvent = { type: 'token', choice: this.choice, token, piece: this.tokenizer.piece(token), delta, logProb };
    if (top) event.top = top.map((t): TopLogProb => ({ ...t, piece: this.tokenizer.piece(t.token) }));
    if (attention) event.attention = attention;
    return event;
  }

  /** Why the choice must end after its tokens so far (a stop string, the token limit); undefined while it may go on. */
  get mustEnd(): FinishReason | undefined {
    if (this.stops.stopped) return 'stop';
    return this.tokens.length >= this.maxTokens ? 'length' : undefined;
  }

  /** The choice's last event: the final text, and the text held back for a stop string that did not complete. */
  finish(reason: FinishReason): FinishEvent {
    const text = this.stops.finalText();
    return { type: 'finish', choice: this.choice, reason, text, tokens: this.tokens.length, delta: this.stops.flush() };
  }
}
