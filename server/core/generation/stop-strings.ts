/**
 * Stop strings on streamed text: text is released only when it cannot be the start of a stop
 * string, and generation ends at the first stop string (which is not emitted), as OpenAI's `stop`.
 */
export class StopStrings {
  private text = '';
  private released = 0;
  private stoppedAt = -1;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.stoppedAt >= 0;
  }

  /** Sets the full text generated so far; returns the newly releasable delta. */
  update(fullText: string): string {
    if (this.stopped) return '';
    this.text = fullText;
    let end = fullText.length;
    for (const s of this.stops) {
      const at = fullText.indexOf(s, Math.max(0, this.released - s.length + 1));
      if (at >= 0 && (this.stoppedAt < 0 || at < this.stoppedAt)) this.stoppedAt = at;
    }
    if (this.stopped) end = this.stoppedAt;
    else {
      // hold back a tail that could still grow into a stop string
      for (const s of this.stops) {
        for (let k = Math.min(s.length - 1, fullText.length); k > 0; k--) {
          if (fullText.endsWith(s.slice(0, k))) {
            end = Math.min(end, fullText.length - k);
            break;
          }
        }
      }
    }
    if (end <= this.released) return '';
    const delta = fullText.slice(this.released, end);
    this.released = end;
    return delta;
  }

  /** At the end of generation: whatever is still held back (nothing after a stop string). */
  flush(): string {
    if (this.stopped) return '';
    const delta = this.text.slice(this.released);
    this.released = this.text.length;
    return delta;
  }

  /** The final text: cut at the stop string if one occurred. */
  finalText(): string {
    return this.stopped ? this.text.slice(0, this.stoppedAt) : this.text;
  }
}
