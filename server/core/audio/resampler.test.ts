import { describe, expect, it } from 'vitest';
import { resample, StreamingResampler } from './resampler.ts';

const sine = (hz: number, rate: number, seconds: number) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => Math.sin((2 * Math.PI * hz * i) / rate));

describe('resampler', () => {
  for (const from of [8000, 22050, 44100, 48000]) {
    it(`turns a 440 Hz tone at ${from} Hz into the same tone at 16 kHz`, () => {
      const out = resample(sine(440, from, 0.5), from, 16000);
      expect(Math.abs(out.length - 8000)).toBeLessThanOrEqual(1);
      const expected = sine(440, 16000, 0.5);
      let err = 0;
      for (let i = 200; i < 7800; i++) err = Math.max(err, Math.abs(out[i] - expected[i]));
      expect(err).toBeLessThan(0.02);
    });
  }

  it('removes content above the new Nyquist frequency', () => {
    const out = resample(sine(7000, 48000, 0.5), 48000, 8000);
    const rms = Math.sqrt(out.slice(200, -200).reduce((a, v) => a + v * v, 0) / (out.length - 400));
    expect(rms).toBeLessThan(0.02);
  });

  it('gives the same samples chunk by chunk as all at once', () => {
    const input = sine(300, 44100, 0.3).map((v, i) => v + 0.3 * Math.sin(i / 7));
    const whole = resample(input, 44100, 16000);
    const r = new StreamingResampler(44100, 16000);
    const parts: number[] = [];
    let pos = 0;
    for (const size of [1, 17, 441, 1000, 3, 2048, 5000]) {
      parts.push(...r.push(input.slice(pos, pos + size)));
      pos += size;
    }
    parts.push(...r.push(input.slice(pos)), ...r.end());
    expect(parts.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i++) expect(parts[i]).toBeCloseTo(whole[i], 6);
  });

  it('passes through when the rates are equal', () => {
    const x = sine(100, 16000, 0.1);
    expect(resample(x, 16000, 16000)).toBe(x);
  });
});
