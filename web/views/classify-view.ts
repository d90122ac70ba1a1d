/**
 * Text classification: the labels with their scores as bars, and the text with each word shaded —
 * by its share of the decision when the model splits its logits by token (toward the top label in
 * red, against it in blue), else by the attention its recurrent path gave it; a choice between the two
 * when the model has both.
 */
import type { ClassificationResult } from '../../clients/web/seqserve-web.ts';
import { byLabel, pushToward } from '../../server/core/classify/text-classifier.ts';
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postJson } from '../lib/server-api.ts';
import { colourScale } from '../render/colour-scale.ts';

interface Word {
  text: string;
  start: number;
  end: number;
}

/** What the view draws of one text, from the server or the page. */
interface Prediction {
  predictions: { label: string; score: number }[];
  attention: (Word & { weight: number })[];
  /** Each word's share of each label's raw score (by label), when the model has them. */
  contributions?: (Word & { logits: Record<string, number> })[];
  truncated: boolean;
}

/** `POST /predict` with `return_attention` and `return_contributions` answers one text like this. */
interface ServerPrediction {
  predictions: { label: string; score: number }[];
  attention: (Word & { weight: number })[];
  contributions?: { tokens: (Word & { logits: Record<string, number> })[]; rest: Record<string, number> };
  truncated: boolean;
}

/** Whether the spam model has per-token logits (asked once from the server, known in the page). */
let serverHasContributions: boolean | undefined;

async function fromServer(text: string): Promise<Prediction> {
  const ask = (contributions: boolean) =>
    postJson<ServerPrediction>('/predict', { inputs: text, return_attention: true, truncate: true, ...(contributions ? { return_contributions: true } : {}) });
  let r: ServerPrediction;
  if (serverHasContributions === false) r = await ask(false);
  else {
    try {
      r = await ask(true);
      serverHasContributions = true;
    } catch (err) {
      // a model without per-token logits refuses return_contributions (400 naming it): attention only from now on
      if (!(err instanceof Error && err.message.includes('return_contributions'))) throw err;
      serverHasContributions = false;
      r = await ask(false);
    }
  }
  return { predictions: r.predictions, attention: r.attention, contributions: r.contributions?.tokens, truncated: r.truncated };
}

async function classify(text: string): Promise<Prediction> {
  if (mode() === 'server') return fromServer(text);
  const model = await inPage('spam');
  const spec = model.manifest.classification;
  const [r]: ClassificationResult[] = await model.classify([text], { attention: true, contributions: spec?.tokenLogits !== undefined, truncate: true });
  const labels = spec?.labels ?? [];
  return {
    predictions: r.scores,
    attention: r.attention ?? [],
    contributions: r.contributions?.tokens.map(({ text: t, start, end, logits }) => ({ text: t, start, end, logits: byLabel(labels, logits) })),
    truncated: r.truncated,
  };
}

/** The text with each word in a mark coloured by `colour(i)`, titled by `title(i)`. */
function drawText(out: HTMLElement, text: string, words: readonly Word[], colour: (i: number) => string, title: (i: number) => string): void {
  let pos = 0;
  words.forEach((w, i) => {
    out.append(text.slice(pos, w.start));
    const mark = el('mark', { className: 'attended', title: title(i) }, text.slice(w.start, w.end));
    mark.style.background = colour(i);
    out.append(mark);
    pos = w.end;
  });
  out.append(text.slice(pos));
}

function drawAttention(text: string, result: Prediction): void {
  const max = Math.max(1e-9, ...result.attention.map((a) => a.weight));
  $('classify-scale').replaceChildren(colourScale('attention weight', 'rgb(220 38 38 / 0)', 'rgb(220 38 38 / .85)', '0', `${max.toFixed(3)} (the most attended word)`));
  drawText(
    clear($('classify-out')),
    text,
    result.attention,
    (i) => `rgb(220 38 38 / ${(0.85 * result.attention[i].weight) / max})`,
    (i) => `attention ${result.attention[i].weight.toFixed(4)}`,
  );
  const top = [...result.attention].sort((x, y) => y.weight - x.weight).slice(0, 8);
  $('classify-top').textContent = `most attention: ${top.map((a) => `${a.text} (${a.weight.toFixed(3)})`).join(', ')}`;
}

/** Each word shaded by its push toward the top label (pushToward). */
function drawContributions(text: string, result: Prediction, words: NonNullable<Prediction['contributions']>): void {
  const top = result.predictions[0].label;
  const others = result.predictions.slice(1).map((p) => p.label);
  const push = words.map((w) => pushToward(w.logits, top, others));
  const max = Math.max(1e-9, ...push.map(Math.abs));
  const against = others.length === 1 ? others[0] : `not ${top}`;
  $('classify-scale').replaceChildren(
    colourScale(
      `share of the decision (logit)`,
      'rgb(37 99 235 / .85), rgb(255 255 255 / 0)',
      'rgb(220 38 38 / .85)',
      `−${max.toFixed(2)} (toward ${against})`,
      `+${max.toFixed(2)} (toward ${top})`,
    ),
  );
  drawText(
    clear($('classify-out')),
    text,
    words,
    (i) => (push[i] >= 0 ? `rgb(220 38 38 / ${(0.85 * push[i]) / max})` : `rgb(37 99 235 / ${(0.85 * -push[i]) / max})`),
    (i) => `${push[i] >= 0 ? '+' : '−'}${Math.abs(push[i]).toFixed(3)} toward ${push[i] >= 0 ? top : against}`,
  );
  const order = push.map((p, i) => i).sort((a, b) => push[b] - push[a]);
  const list = (idx: number[]) => idx.map((i) => `${words[i].text} (${Math.abs(push[i]).toFixed(2)})`).join(', ') || 'none';
  $('classify-top').textContent = `toward ${top}: ${list(order.filter((i) => push[i] > 0).slice(0, 8))}; toward ${against}: ${list(
    order
      .filter((i) => push[i] < 0)
      .reverse()
      .slice(0, 8),
  )}`;
}

let last: { text: string; result: Prediction } | undefined;

function draw(): void {
  if (!last) return;
  const { text, result } = last;
  const shade = $<HTMLSelectElement>('classify-shade');
  shade.disabled = !result.contributions;
  if (!result.contributions) shade.value = 'attention';
  if (result.contributions && shade.value === 'contributions') drawContributions(text, result, result.contributions);
  else drawAttention(text, result);
  if (result.truncated) $('classify-out').append(el('p', { className: 'partial' }, '(the rest was cut: the model reads the first tokens only)'));
}

export function classifyView(): void {
  $('classify-shade').addEventListener('change', draw);
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
      last = { text, result };
      draw();
    });
  });
}
