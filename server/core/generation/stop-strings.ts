/**
 * Stop strings on streamed text, fed one delta at a time: text is released only when it cannot be
 * the start of a stop string, and generation ends at the first stop string (which is not emitted),
 * as OpenAI's `stop`. Each delta is searched together with the text held back before it only (a
 * stop string cannot start in text already released), so the cost per token does not grow with the
 * length of the text.
 */
export class StopStrings {
  /** Text released so far (after a stop: the final text). */
  private released = '';
  /** Text held back: it could be the start of a stop string (after a stop: from the stop string on). */
  private held = '';
  private stop = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.stop;
  }

  /** Appends newly generated text; returns the newly releasable delta. */
  append(delta: string): string {
    if (this.stop) return '';
    if (this.stops.length === 0) {
      this.released += delta;
      return delta;
    }
    const text = this.held + delta;
    let end = text.length;
    let stoppedAt = -1;
    for (const s of this.stops) {
      const at = text.indexOf(s);
      if (at >= 0 && (stoppedAt < 0 || at < stoppedAt)) stoppedAt = at;
    }
    if (stoppedAt >= 0) {
      this.stop = true;
      end = stoppedAt;
    } else {
      // hold back a tail that could still grow into a stop string
      for (const s of this.stops) {
        for (let k = Math.min(s.length - 1, text.length); k > 0; k--) {
          if (text.endsWith(s.slice(0, k))) {
            end = Math.min(end, text.length - k);
            break;
          }
        }
      }
    }
    const out = text.slice(0, end);
    this.held = text.slice(end);
    this.released += out;
    return out;
  }

  /** At the end of generation: whatever is still held back (nothing after a stop string). */
  flush(): string {
    if (this.stop) return '';
    const delta = this.held;
    this.held = '';
    this.released += delta;
    return delta;
  }

  /** The final text: cut at the stop string if one occurred. */
  finalText(): string {
    return this.stop ? this.released : this.released + this.held;
  }
}
