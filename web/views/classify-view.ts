/**
 * Text classification: the labels with their scores as bars, and the text with each word shaded by
 * the attention the model gave it (the words that decided the label; the darkest has the most).
 */
import type { ClassificationResult } from '../../clients/web/seqserve-web.ts';
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postJson } from '../lib/server-api.ts';
import { colourScale } from '../render/colour-scale.ts';

/** `POST /predict` with `return_attention` answers one text like this. */
interface ServerPrediction {
  predictions: { label: string; score: number }[];
  attention: { text: string; start: number; end: number; weight: number }[];
  truncated: boolean;
}

async function classify(text: string): Promise<ServerPrediction> {
  if (mode() === 'server') return postJson<ServerPrediction>('/predict', { inputs: text, return_attention: true, truncate: true });
  const [r]: ClassificationResult[] = await (await inPage('spam')).classify([text], { attention: true, truncate: true });
  return { predictions: r.scores, attention: r.attention ?? [], truncated: r.truncated };
}

export function classifyView(): void {
  $('classify-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $<HTMLTextAreaElement>('classify-input').value;
    action('view-classify', 'classification', async () => {
      const result = await classify(text);
      const labels = clear($('classify-labels'));
      for (const p of result.predictions) {
        const bar = el('span', { className: 'score-bar' });
        bar.style.width = `${(100 * p.score).toFixed(1)}%`;
        labels.append(el('li', {}, el('span', { className: 'score-label' }, `${p.label} ${(100 * p.score).toFixed(1)} %`), bar));
      }
      const out = clear($('classify-out'));
      const max = Math.max(1e-9, ...result.attention.map((a) => a.weight));
      $('classify-scale').replaceChildren(colourScale('attention weight', 'rgb(220 38 38 / 0)', 'rgb(220 38 38 / .85)', '0', `${max.toFixed(3)} (the most attended word)`));
      let pos = 0;
      for (const a of result.attention) {
        out.append(text.slice(pos, a.start));
        const mark = el('mark', { className: 'attended', title: `attention ${a.weight.toFixed(4)}` }, text.slice(a.start, a.end));
        mark.style.background = `rgb(220 38 38 / ${(0.85 * a.weight) / max})`;
        out.append(mark);
        pos = a.end;
      }
      out.append(text.slice(pos));
      if (result.truncated) out.append(el('p', { className: 'partial' }, '(the rest was cut: the model reads the first tokens only)'));
      const top = [...result.attention].sort((x, y) => y.weight - x.weight).slice(0, 8);
      $('classify-top').textContent = `most attention: ${top.map((a) => `${a.text} (${a.weight.toFixed(3)})`).join(', ')}`;
    });
  });
}
