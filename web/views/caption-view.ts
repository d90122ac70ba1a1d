/**
 * Captioning of an uploaded, sample or drawn image: what the captioner knows (its manifest's
 * `knows`), the caption as it streams in, and the attention over the image per word with its scale.
 */
import { $, action, authHeaders, base, clear, el, inPage, mode, status } from '../lib/page.ts';
import { modelInfo } from '../lib/model-info.ts';
import { postStream } from '../lib/server-api.ts';
import { colourScale } from '../render/colour-scale.ts';
import { imageAttention } from '../render/image-attention.ts';

interface CaptionEvent {
  type: string;
  token?: string;
  delta?: string;
  attention?: number[];
  attention_grid?: [number, number];
  error?: { message: string };
}

async function caption(image: Blob): Promise<void> {
  const out = $('caption-out');
  out.textContent = '';
  const maps = clear($('caption-attention'));
  const bitmap = await createImageBitmap(image);
  let grid: [number, number] = [1, 1];
  const show = (word: string, attention?: number[]) => {
    if (!attention || !word.trim()) return;
    if (!maps.childElementCount) maps.append(colourScale('attention, per word:', 'rgb(0 0 0 / .8)', 'rgb(0 0 0 / 0)', 'ignored (dark)', 'most attended (clear)'));
    maps.append(imageAttention(bitmap, grid, word, attention));
  };
  if (mode() === 'page') {
    const model = await inPage('caption');
    grid = model.manifest.image?.grid ?? grid;
    for await (const t of model.caption(image, { includeAttention: true })) {
      out.textContent += t.delta;
      show(t.token, t.attention);
    }
    return;
  }
  const form = new FormData();
  form.set('image', image);
  form.set('stream', 'true');
  form.set('include_attention', 'true');
  const words: [string, number[] | undefined][] = [];
  for await (const e of await postStream<CaptionEvent>('/v1/captions', form)) {
    if (e.type === 'caption.token') {
      out.textContent += e.delta ?? '';
      words.push([e.token ?? '', e.attention]);
    }
    if (e.type === 'caption.done') {
      grid = e.attention_grid ?? grid; // the grid comes with the last event
      for (const [word, attention] of words) show(word, attention);
    }
  }
}

function drawingPad(): HTMLCanvasElement {
  const pad = $<HTMLCanvasElement>('caption-pad');
  const g = pad.getContext('2d')!;
  const reset = () => {
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, pad.width, pad.height);
  };
  reset();
  let drawing = false;
  const at = (ev: PointerEvent) => {
    const r = pad.getBoundingClientRect();
    return [((ev.clientX - r.left) * pad.width) / r.width, ((ev.clientY - r.top) * pad.height) / r.height] as const;
  };
  pad.addEventListener('pointerdown', (ev) => {
    drawing = true;
    pad.setPointerCapture(ev.pointerId);
    const [x, y] = at(ev);
    g.beginPath();
    g.moveTo(x, y);
  });
  pad.addEventListener('pointermove', (ev) => {
    if (!drawing) return;
    const [x, y] = at(ev);
    g.strokeStyle = $<HTMLInputElement>('caption-colour').value;
    g.lineWidth = Number($<HTMLInputElement>('caption-brush').value);
    g.lineCap = 'round';
    g.lineTo(x, y);
    g.stroke();
  });
  pad.addEventListener('pointerup', () => (drawing = false));
  $('caption-clear').addEventListener('click', reset);
  return pad;
}

/** The words the captioner knows, by category, from its manifest's `knows` (a neutral line when it lists none). */
export function showKnows(knows: Record<string, string[]> | undefined): void {
  const box = clear($('caption-knows'));
  const categories = Object.entries(knows ?? {});
  if (!categories.length) {
    box.append('The captioner does not list the words it knows; its model card describes its scenes.');
    return;
  }
  box.append(
    el('span', {}, 'The words it knows — it can name nothing else:'),
    el('dl', {}, ...categories.flatMap(([category, words]) => [el('dt', {}, category.replace(/_/g, ' ')), el('dd', {}, words.join(', '))])),
  );
}

let sample = 0;
/** The bundled held-out scenes (models/caption/heldout-sample/), one after the other. */
async function sampleScene(): Promise<Blob> {
  const url = (i: number) => `${base}/v1/models/caption/files/heldout-sample/${String(i).padStart(3, '0')}.png`;
  let res = await fetch(url(sample % 10), { headers: authHeaders() });
  if (res.status === 404) res = await fetch(url((sample = 0)), { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample scene: HTTP ${res.status}`);
  sample++;
  return res.blob();
}

let shown: string | undefined;
/** The image being captioned, next to the caption. */
function showImage(image: Blob): void {
  if (shown) URL.revokeObjectURL(shown);
  shown = URL.createObjectURL(image);
  const img = $<HTMLImageElement>('caption-image');
  img.src = shown;
  img.hidden = false;
}

export function captionView(): void {
  modelInfo('caption').then(
    (info) => showKnows(info.knows),
    () => showKnows(undefined),
  );
  const pad = drawingPad();
  $('caption-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $<HTMLInputElement>('caption-file').files?.[0];
    if (!file) {
      status('choose an image first (or use a sample scene, or draw one and press "Caption the drawing")');
      return;
    }
    action('view-caption', 'captioning', () => {
      showImage(file);
      return caption(file);
    });
  });
  $('caption-sample').addEventListener('click', () => {
    action('view-caption', 'captioning a sample scene', async () => {
      const image = await sampleScene();
      showImage(image);
      await caption(image);
    });
  });
  $('caption-draw').addEventListener('click', () => {
    action('view-caption', 'captioning the drawing', async () => {
      const blob = await new Promise<Blob>((resolve, reject) => pad.toBlob((b) => (b ? resolve(b) : reject(new Error('the drawing cannot be read'))), 'image/png'));
      showImage(blob);
      await caption(blob);
    });
  });
}
