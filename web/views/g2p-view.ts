/**
 * Text to text with the g2p model: each word's pronunciation (ARPAbet with stress digits) and the
 * attention alignment drawn as a phonemes × letters table — the monotonic path attention learns on its
 * own. Computed in the page (onnxruntime-web, the same task code as the server) or by the server's
 * `POST /v1/completions`; both answer with the same choices.
 */
import type { CompletionChoice } from '../../clients/web/seqserve-web.ts';
import { ATTENTION_RGB, attentionTable } from '../render/attention-table.ts';
import { colourScale } from '../render/colour-scale.ts';
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postJson } from '../lib/server-api.ts';

async function pronounce(words: string[], beam: boolean): Promise<CompletionChoice[]> {
  const options = { include_attention: true, ...(beam ? { best_of: 5 } : {}) };
  if (mode() === 'server') return (await postJson<{ choices: CompletionChoice[] }>('/v1/completions', { model: 'g2p', prompt: words, ...options })).choices;
  return (await inPage('g2p')).complete(words, options);
}

export function g2pView(): void {
  $('g2p-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const words = $<HTMLInputElement>('g2p-input').value.split(/\s+/).filter(Boolean);
    const beam = $<HTMLInputElement>('g2p-beam').checked;
    action('view-g2p', 'pronunciation', async () => {
      const choices = await pronounce(words, beam);
      const out = clear($('g2p-out'));
      const maps = clear($('g2p-attention'));
      choices.forEach((c, i) => {
        out.append(el('div', {}, el('strong', {}, words[i]), `  ${c.text}`));
        const a = c.attention;
        if (a) maps.append(el('figure', { className: 'attention' }, attentionTable(`${words[i]}: phonemes × letters`, a.output_tokens, a.source_tokens, a.weights)));
      });
      if (maps.childElementCount) maps.append(colourScale('attention weight', `rgb(${ATTENTION_RGB} / 0)`, `rgb(${ATTENTION_RGB} / 1)`, '0', '1'));
    });
  });
}
