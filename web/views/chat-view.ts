/** Chat: the reply streams in; the attention over the source tokens is drawn per reply token, with its colour scale. */
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
import { ATTENTION_RGB, attentionTable } from '../render/attention-table.ts';
import { readableToken, TOKEN_NOTE } from '../render/chat-tokens.ts';
import { colourScale } from '../render/colour-scale.ts';

interface Token {
  delta: string;
  token: string;
  attention?: number[];
}

interface ChatChunk {
  choices: { delta: { content?: string }; source_tokens?: string[]; attention?: number[] | null }[];
}

async function serverTokens(content: string, onSource: (s: string[]) => void): Promise<AsyncGenerator<Token>> {
  const chunks = await postStream<ChatChunk>('/v1/chat/completions', { messages: [{ role: 'user', content }], temperature: 0, stream: true, include_attention: true });
  return (async function* () {
    for await (const chunk of chunks) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.source_tokens) onSource(choice.source_tokens);
      const delta = choice.delta.content ?? '';
      if (choice.attention) yield { delta, token: delta.trim() || delta, attention: choice.attention };
      else if (delta) yield { delta, token: '' };
    }
  })();
}

export function chatView(): void {
  $('chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const content = $<HTMLInputElement>('chat-input').value;
    const log = $('chat-log');
    log.textContent = '';
    const heatmap = clear($('chat-attention'));
    action('view-chat', 'chat', async () => {
      let sources: string[] = [];
      let tokens: AsyncGenerator<Token>;
      if (mode() === 'page') {
        const run = (await inPage('chat')).chatTokens([{ role: 'user', content }], { temperature: 0, include_attention: true });
        sources = run.sourceTokens;
        tokens = run.tokens;
      } else {
        tokens = await serverTokens(content, (s) => (sources = s));
      }
      const outputs: string[] = [];
      const weights: number[][] = [];
      for await (const t of tokens) {
        log.textContent += t.delta;
        if (t.attention) {
          outputs.push(t.token);
          weights.push(t.attention);
        }
      }
      heatmap.replaceChildren(
        attentionTable('Attention of each reply token (rows) over your message (columns)', outputs.map(readableToken), sources.map(readableToken), weights),
        colourScale('attention weight', `rgb(${ATTENTION_RGB} / 0)`, `rgb(${ATTENTION_RGB} / 1)`, '0', '1'),
        el('p', { className: 'note' }, TOKEN_NOTE),
      );
    });
  });
}
