/** Captioning attention: per generated word, the image with its attention over the region grid laid over it. */
import { el } from '../lib/page.ts';

const SIZE = 96;

export function imageAttention(image: ImageBitmap, grid: readonly [number, number], word: string, weights: readonly number[]): HTMLElement {
  const canvas = el('canvas', { width: SIZE, height: SIZE });
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `attention for "${word}"`);
  const g = canvas.getContext('2d')!;
  g.drawImage(image, 0, 0, SIZE, SIZE);
  const [rows, cols] = grid;
  const peak = Math.max(...weights, 1e-9);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      g.fillStyle = `rgba(0, 0, 0, ${(0.8 * (1 - (weights[r * cols + c] ?? 0) / peak)).toFixed(3)})`;
      g.fillRect((c * SIZE) / cols, (r * SIZE) / rows, SIZE / cols, SIZE / rows);
    }
  }
  return el('figure', { className: 'attention' }, canvas, el('figcaption', {}, word));
}
