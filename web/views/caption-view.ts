/** Captioning of an uploaded or drawn image: the caption streams in, with the attention over the image per word. */
import { $, action, clear, inPage, mode } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
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
    if (attention && word.trim()) maps.append(imageAttention(bitmap, grid, word, attention));
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

export function captionView(): void {
  const pad = drawingPad();
  $('caption-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $<HTMLInputElement>('caption-file').files?.[0];
    if (!file) {
      $('status').textContent = 'choose an image first (or draw one and press "Caption the drawing")';
      return;
    }
    action('captioning', () => caption(file));
  });
  $('caption-draw').addEventListener('click', () => {
    action('captioning the drawing', async () => {
      const blob = await new Promise<Blob>((resolve, reject) => pad.toBlob((b) => (b ? resolve(b) : reject(new Error('the drawing cannot be read'))), 'image/png'));
      await caption(blob);
    });
  });
}
