/** The demo page: chat, slot filling and captioning, in the page (onnxruntime-web) or on the server. */
import { loadWebModel, type WebModel } from '../clients/web/seqserve-web.ts';

const base = location.origin;
const models = new Map<string, Promise<WebModel>>();
const inPage = (name: string) => {
  if (!models.has(name)) models.set(name, loadWebModel(base, name));
  return models.get(name)!;
};
const mode = () => (document.querySelector<HTMLInputElement>('input[name=mode]:checked')?.value ?? 'page') as 'page' | 'server';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => ($('status').textContent = text);

async function* serverChat(content: string): AsyncGenerator<string> {
  const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content }], temperature: 0, stream: true }) });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let at;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const data = buffer.slice(0, at).replace(/^data: /, '');
      buffer = buffer.slice(at + 2);
      if (data === '[DONE]') return;
      const delta = (JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content;
      if (delta) yield delta;
    }
  }
}

$('chat-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const content = $<HTMLInputElement>('chat-input').value;
  const log = $('chat-log');
  log.textContent = '';
  void (async () => {
    try {
      status(mode() === 'page' ? 'running the chat model in the page…' : 'asking the server…');
      const deltas = mode() === 'page' ? (await inPage('chat')).chat([{ role: 'user', content }], { temperature: 0 }) : serverChat(content);
      for await (const d of deltas) log.textContent += d;
      status('');
    } catch (err) {
      status(`chat failed: ${(err as Error).message}`);
    }
  })();
});

$('slots-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $<HTMLInputElement>('slots-input').value;
  void (async () => {
    try {
      const result = mode() === 'page' ? await (await inPage('slots')).slots(text) : ((await (await fetch(`${base}/v1/slots`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) })).json()) as Awaited<ReturnType<WebModel['slots']>>);
      const out = $('slots-out');
      out.textContent = '';
      let pos = 0;
      for (const s of [...result.slots].sort((a, b) => a.start - b.start)) {
        out.append(text.slice(pos, s.start));
        const mark = document.createElement('mark');
        mark.className = 'slot';
        mark.title = s.name;
        mark.textContent = `${text.slice(s.start, s.end)} [${s.name}]`;
        out.append(mark);
        pos = s.end;
      }
      out.append(text.slice(pos));
    } catch (err) {
      status(`slot filling failed: ${(err as Error).message}`);
    }
  })();
});

$('caption-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const file = $<HTMLInputElement>('caption-file').files?.[0];
  const out = $('caption-out');
  if (!file) {
    status('choose an image first');
    return;
  }
  out.textContent = '';
  void (async () => {
    try {
      if (mode() === 'page') {
        for await (const t of (await inPage('caption')).caption(file)) out.textContent += t.delta;
      } else {
        const form = new FormData();
        form.set('image', file);
        out.textContent = ((await (await fetch(`${base}/v1/captions`, { method: 'POST', body: form })).json()) as { caption: string }).caption;
      }
    } catch (err) {
      status(`captioning failed: ${(err as Error).message}`);
    }
  })();
});

// for tests and other scripts on the page
Object.assign(window, { seqserve: { loadWebModel } });
document.body.dataset.ready = 'true';
