/** A recording's waveform with the recognised words (CTC word timings) as labelled spans over it. */
export interface TimedWord {
  word: string;
  start: number;
  end: number;
  confidence?: number;
}

/** An empty waveform (e.g. while the microphone listens), with what the picture is for now. */
export function clearWaveform(canvas: HTMLCanvasElement, label: string): void {
  canvas.width = canvas.clientWidth || 640;
  canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
  canvas.setAttribute('aria-label', label);
}

export function drawWaveform(canvas: HTMLCanvasElement, samples: Float32Array, sampleRate: number, words: readonly TimedWord[]): void {
  const width = (canvas.width = canvas.clientWidth || 640);
  const height = canvas.height;
  const g = canvas.getContext('2d')!;
  g.clearRect(0, 0, width, height);
  const seconds = samples.length / sampleRate || 1;
  const x = (t: number) => (t / seconds) * width;
  for (const [i, w] of words.entries()) {
    g.fillStyle = i % 2 ? 'rgba(250, 204, 21, .35)' : 'rgba(34, 197, 94, .3)';
    g.fillRect(x(w.start), 0, Math.max(2, x(w.end) - x(w.start)), height);
  }
  g.strokeStyle = '#1f2937';
  g.beginPath();
  const per = Math.max(1, Math.floor(samples.length / width));
  for (let px = 0; px < width; px++) {
    let lo = 0;
    let hi = 0;
    for (let i = px * per; i < Math.min(samples.length, (px + 1) * per); i++) {
      lo = Math.min(lo, samples[i]);
      hi = Math.max(hi, samples[i]);
    }
    g.moveTo(px + 0.5, height / 2 - hi * (height / 2));
    g.lineTo(px + 0.5, height / 2 - lo * (height / 2) + 1);
  }
  g.stroke();
  g.fillStyle = '#111827';
  g.font = '12px system-ui, sans-serif';
  // a word's label where it starts, unless the previous label still runs there (its span stays shaded)
  let free = 0;
  for (const w of words) {
    const at = x(w.start) + 2;
    if (at < free) continue;
    g.fillText(w.word, at, 12);
    free = at + g.measureText(w.word).width + 4;
  }
  canvas.setAttribute('aria-label', `waveform, ${seconds.toFixed(1)} s: ${words.map((w) => `${w.word} ${w.start.toFixed(2)}–${w.end.toFixed(2)} s`).join(', ')}`);
}
