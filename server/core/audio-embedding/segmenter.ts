/**
 * Where the words of a spoken document are, without knowing what they say: frame energy finds the
 * stretches of speech between pauses (each a word, or words spoken without a pause between them),
 * and sliding windows of several widths cover the stretches too long to be one word. Every candidate
 * segment is then embedded and indexed (spoken-index.ts). Runtime-agnostic (the page uses it too).
 */

/** A stretch of audio, in samples: [start, end). */
export interface SampleSpan {
  start: number;
  end: number;
}

export interface SegmenterOptions {
  /** Energy frame length, seconds (default 0.01). */
  frameSeconds?: number;
  /** A frame is speech when its level is above the loudest frame's minus this many dB (default 35)... */
  dynamicRangeDb?: number;
  /** ...and above the quiet frames' level (the 10th percentile) plus this many dB (default 10). */
  aboveFloorDb?: number;
  /** Pauses shorter than this join the speech on either side (default 0.1 s). */
  minPauseSeconds?: number;
  /** Speech shorter than this is dropped (default 0.08 s). */
  minSpeechSeconds?: number;
  /** Kept before and after each stretch of speech (default 0.05 s). */
  marginSeconds?: number;
}

const DEFAULTS: Required<SegmenterOptions> = {
  frameSeconds: 0.01,
  dynamicRangeDb: 35,
  aboveFloorDb: 10,
  minPauseSeconds: 0.1,
  minSpeechSeconds: 0.08,
  marginSeconds: 0.05,
};

/** Level of each frame in dB (full scale), frames of `frame` samples (the last one partial). */
export function frameLevels(samples: Float32Array, frame: number): Float64Array {
  const n = Math.ceil(samples.length / frame);
  const out = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let sum = 0;
    const end = Math.min(samples.length, (f + 1) * frame);
    for (let i = f * frame; i < end; i++) sum += samples[i] * samples[i];
    out[f] = 10 * Math.log10(sum / Math.max(1, end - f * frame) + 1e-12);
  }
  return out;
}

/** The stretches of speech between pauses, in samples, in order (empty for silence). */
export function speechRegions(samples: Float32Array, sampleRate: number, options: SegmenterOptions = {}): SampleSpan[] {
  const o = { ...DEFAULTS, ...options };
  const frame = Math.max(1, Math.round(o.frameSeconds * sampleRate));
  const levels = frameLevels(samples, frame);
  if (levels.length === 0) return [];
  const sorted = Float64Array.from(levels).sort();
  const peak = sorted[sorted.length - 1];
  const floor = sorted[Math.floor(0.1 * (sorted.length - 1))];
  // Digital silence (-120 dB) is no floor to measure against; -70 dBFS is quiet enough for anything.
  const threshold = Math.max(peak - o.dynamicRangeDb, Math.max(floor, -70) + o.aboveFloorDb);
  if (peak <= threshold) return [];
  const frames: [number, number][] = [];
  let open = -1;
  for (let f = 0; f <= levels.length; f++) {
    const speech = f < levels.length && levels[f] > threshold;
    if (speech && open < 0) open = f;
    if (!speech && open >= 0) {
      frames.push([open, f]);
      open = -1;
    }
  }
  const minPause = Math.round(o.minPauseSeconds / o.frameSeconds);
  const merged: [number, number][] = [];
  for (const r of frames) {
    const last = merged[merged.length - 1];
    if (last && r[0] - last[1] < minPause) last[1] = r[1];
    else merged.push([r[0], r[1]]);
  }
  const minSpeech = Math.round(o.minSpeechSeconds / o.frameSeconds);
  const margin = Math.round(o.marginSeconds * sampleRate);
  return merged.filter(([a, b]) => b - a >= minSpeech).map(([a, b]) => ({ start: Math.max(0, a * frame - margin), end: Math.min(samples.length, b * frame + margin) }));
}

/**
 * The audio without its leading and trailing silence (the span from the first stretch of speech to
 * the last); all of it when no speech is found.
 */
export function trimSilence(samples: Float32Array, sampleRate: number, options: SegmenterOptions = {}): SampleSpan {
  const regions = speechRegions(samples, sampleRate, options);
  if (regions.length === 0) return { start: 0, end: samples.length };
  return { start: regions[0].start, end: regions[regions.length - 1].end };
}

export interface CandidateOptions extends SegmenterOptions {
  /** Stretches of speech up to this long are one candidate each, and pairs of neighbours up to it are one too (default 1.2 s). */
  maxWordSeconds?: number;
  /** Widths of the sliding windows over longer stretches (default 0.4, 0.6, 0.8, 1.0 s). */
  windowSeconds?: number[];
  /** Step of the sliding windows (default 0.1 s). */
  hopSeconds?: number;
}

/**
 * The segments of a document worth embedding: each stretch of speech between pauses that could be a
 * word or short phrase, each pair of neighbouring stretches that together still could (a word with a
 * pause inside it), and sliding windows of several widths over stretches too long for one word
 * (words run together). Sorted by start, then end; no duplicates.
 */
export function candidateSegments(samples: Float32Array, sampleRate: number, options: CandidateOptions = {}): SampleSpan[] {
  const maxWord = Math.round((options.maxWordSeconds ?? 1.2) * sampleRate);
  const widths = (options.windowSeconds ?? [0.4, 0.6, 0.8, 1.0]).map((w) => Math.round(w * sampleRate));
  const hop = Math.max(1, Math.round((options.hopSeconds ?? 0.1) * sampleRate));
  const regions = speechRegions(samples, sampleRate, options);
  const out = new Map<string, SampleSpan>();
  const add = (s: SampleSpan) => out.set(`${s.start}:${s.end}`, s);
  regions.forEach((r, i) => {
    if (r.end - r.start <= maxWord) add(r);
    const next = regions[i + 1];
    if (next && next.end - r.start <= maxWord) add({ start: r.start, end: next.end });
    if (r.end - r.start > maxWord) {
      for (const w of widths) {
        for (let s = r.start; s + w <= r.end + hop / 2; s += hop) add({ start: s, end: Math.min(r.end, s + w) });
      }
    }
  });
  return [...out.values()].sort((a, b) => a.start - b.start || a.end - b.end);
}
