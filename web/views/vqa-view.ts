/**
 * Visual question answering: an uploaded or sample image and a question about it → the answer, the
 * most probable answers with their probabilities, and the attention over the image's region grid
 * (each hop) drawn over the image. In the page (onnxruntime-web, the same core as the server) or by
 * `POST /v1/vqa`.
 */
import { $, action, authHeaders, base, clear, el, inPage, mode, status } from '../lib/page.ts';
import { postJson } from '../lib/server-api.ts';
import { colourScale } from '../render/colour-scale.ts';
import { imageAttention } from '../render/image-attention.ts';

const MODEL = 'vqa';

interface VqaAnswer {
  answer: string;
  answers: { answer: string; probability: number }[];
  attention?: { grid: [number, number]; weights: number[]; hops: number[][] };
}

async function dataUrl(image: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error('the image cannot be read'));
    r.readAsDataURL(image);
  });
}

async function answer(image: Blob, question: string): Promise<void> {
  const out = $('vqa-out');
  out.textContent = '';
  const list = clear($('vqa-answers'));
  const maps = clear($('vqa-attention'));
  let r: VqaAnswer;
  if (mode() === 'page') {
    const model = await inPage(MODEL);
    r = await model.vqa(image, question, { topK: 5 });
  } else {
    r = await postJson<VqaAnswer>('/v1/vqa', { image: await dataUrl(image), question, top_k: 5, model: MODEL });
  }
  out.textContent = r.answer;
  list.append(...r.answers.map((a) => el('li', {}, `${a.answer}: ${(100 * a.probability).toFixed(1)} %`)));
  if (r.attention) {
    const bitmap = await createImageBitmap(image);
    maps.append(colourScale('attention over the image regions:', 'rgb(0 0 0 / .8)', 'rgb(0 0 0 / 0)', 'ignored (dark)', 'most attended (clear)'));
    r.attention.hops.forEach((weights, h) => maps.append(imageAttention(bitmap, r.attention!.grid, `hop ${h + 1}`, weights)));
  }
}

let sample = 0;
/** The bundled held-out questions (models/vqa/heldout-sample/), one after the other: the image and its question. */
async function sampleQuestion(): Promise<{ image: Blob; question: string; expected: string }> {
  const res = await fetch(`${base}/v1/models/${MODEL}/files/heldout-sample/questions.jsonl`, { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample questions: HTTP ${res.status}`);
  const rows = (await res.text())
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { image: string; question: string; answer: string });
  // the sample is grouped by question type: steps of 7 go from one type to another
  const row = rows[(sample++ * 7) % rows.length];
  const img = await fetch(`${base}/v1/models/${MODEL}/files/heldout-sample/${row.image}`, { headers: authHeaders() });
  if (!img.ok) throw new Error(`the sample image: HTTP ${img.status}`);
  return { image: await img.blob(), question: row.question, expected: row.answer };
}

let shown: string | undefined;
let current: Blob | undefined;
function showImage(image: Blob): void {
  if (shown) URL.revokeObjectURL(shown);
  shown = URL.createObjectURL(image);
  current = image;
  const img = $<HTMLImageElement>('vqa-image');
  img.src = shown;
  img.hidden = false;
}

/** The question words the model knows (its vocabulary file): it refuses any other word. */
async function showWords(): Promise<void> {
  const box = $('vqa-words');
  try {
    const res = await fetch(`${base}/v1/models/${MODEL}/files/question-vocab.json`, { headers: authHeaders() });
    if (!res.ok) return;
    const words = ((await res.json()) as string[]).slice(1);
    clear(box).append(`The words it knows — a question with any other word is refused: ${words.join(', ')}`);
  } catch {
    // the list is a help, not needed to ask
  }
}

export function vqaView(): void {
  void showWords();
  $<HTMLInputElement>('vqa-file').addEventListener('change', () => {
    const file = $<HTMLInputElement>('vqa-file').files?.[0];
    if (file) showImage(file);
  });
  $('vqa-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const question = $<HTMLInputElement>('vqa-question').value;
    if (!current) {
      status('choose an image first (or use a sample question)');
      return;
    }
    const image = current;
    $('vqa-expected').textContent = '';
    action('view-vqa', 'answering', () => answer(image, question));
  });
  $('vqa-sample').addEventListener('click', () => {
    action('view-vqa', 'answering a sample question', async () => {
      const s = await sampleQuestion();
      showImage(s.image);
      $<HTMLInputElement>('vqa-question').value = s.question;
      $('vqa-expected').textContent = `expected: ${s.expected}`;
      await answer(s.image, s.question);
    });
  });
}
