/**
 * Band-limited resampling (windowed sinc, Blackman window) that works on a stream: push chunks of
 * any size and get the same samples as resampling the whole signal at once.
 */
const ZERO_CROSSINGS = 16;
const TABLE_STEPS = 512; // filter table entries per input sample; taps are interpolated between them

export class StreamingResampler {
  private readonly ratio: number; // input samples per output sample
  private readonly cutoff: number; // relative to the input Nyquist
  private readonly halfWidth: number; // input samples each side of a tap centre
  private buffer = new Float32Array(0);
  private bufferStart = 0; // absolute index of buffer[0]
  private nextOut = 0; // absolute index of the next output sample
  private readonly table: Float32Array;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    this.ratio = fromRate / toRate;
    this.cutoff = Math.min(1, toRate / fromRate) * 0.95;
    this.halfWidth = Math.ceil(ZERO_CROSSINGS / this.cutoff);
    this.table = new Float32Array(this.halfWidth * TABLE_STEPS + 2);
    for (let i = 0; i < this.table.length; i++) this.table[i] = this.exactTap(i / TABLE_STEPS);
    // Left padding of zeros so the first outputs have history.
    this.buffer = new Float32Array(this.halfWidth);
    this.bufferStart = -this.halfWidth;
  }

  private tap(x: number): number {
    const pos = Math.abs(x) * TABLE_STEPS;
    const i = Math.floor(pos);
    if (i + 1 >= this.table.length) return 0;
    const frac = pos - i;
    return this.table[i] * (1 - frac) + this.table[i + 1] * frac;
  }

  private exactTap(x: number): number {
    if (x === 0) return this.cutoff;
    const w = x / this.halfWidth;
    if (Math.abs(w) >= 1) return 0;
    const blackman = 0.42 + 0.5 * Math.cos(Math.PI * w) + 0.08 * Math.cos(2 * Math.PI * w);
    return (Math.sin(Math.PI * this.cutoff * x) / (Math.PI * x)) * blackman;
  }

  private produce(available: number): Float32Array {
    const out: number[] = [];
    for (;;) {
      const centre = this.nextOut * this.ratio;
      const hi = Math.floor(centre) + this.halfWidth;
      if (hi >= available) break;
      let acc = 0;
      for (let i = Math.ceil(centre) - this.halfWidth; i <= hi; i++) {
        const v = i < this.bufferStart ? 0 : this.buffer[i - this.bufferStart];
        acc += v * this.tap(centre - i);
      }
      out.push(acc);
      this.nextOut++;
    }
    // Drop input no future output needs.
    const keepFrom = Math.floor(this.nextOut * this.ratio) - this.halfWidth;
    if (keepFrom > this.bufferStart) {
      this.buffer = this.buffer.slice(keepFrom - this.bufferStart);
      this.bufferStart = keepFrom;
    }
    return Float32Array.from(out);
  }

  push(samples: Float32Array): Float32Array {
    if (this.fromRate === this.toRate) return samples;
    const merged = new Float32Array(this.buffer.length + samples.length);
    merged.set(this.buffer);
    merged.set(samples, this.buffer.length);
    this.buffer = merged;
    return this.produce(this.bufferStart + this.buffer.length);
  }

  /** Flushes the tail (as if the signal continued with silence). */
  end(): Float32Array {
    if (this.fromRate === this.toRate) return new Float32Array(0);
    const total = this.bufferStart + this.buffer.length;
    const wanted = Math.ceil(total / this.ratio);
    const out = this.push(new Float32Array(this.halfWidth + 1));
    return out.slice(0, Math.max(0, wanted - (this.nextOut - out.length)));
  }
}

export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return samples;
  const r = new StreamingResampler(fromRate, toRate);
  const a = r.push(samples);
  const b = r.end();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
