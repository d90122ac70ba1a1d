/**
 * Video captioning of a sample clip, an uploaded animated GIF / WebP, or pictures chosen as the
 * frames of a clip: the clip plays next to the caption as it streams in, and the attention over the
 * clip's sampled frames per word is drawn as a table (rows: words, columns: frames) under them.
 */
import { $, action, authHeaders, base, clear, el, inPage, mode } from '../lib/page.ts';
import { postStream } from '../lib/server-api.ts';
import { attentionTable } from '../render/attention-table.ts';
import { colourScale } from '../render/colour-scale.ts';

const MODEL = 'video_caption';

interface CaptionEvent {
  type: string;
  token?: string;
  delta?: string;
  attention?: number[];
  attention_frames?: number;
  error?: { message: string };
}

/** A clip: one animated image, or pictures in order. */
type Clip = Blob | Blob[];

function showAttention(words: [string, number[] | undefined][]): void {
  const box = clear($('video-attention'));
  const rows = words.filter(([w, a]) => w.trim() && a);
  if (!rows.length) return;
  const frames = rows[0][1]!.length;
  box.append(
    colourScale('attention over the sampled frames, per word:', `rgb(37 99 235 / 0)`, `rgb(37 99 235 / 1)`, 'ignored', 'most attended'),
    attentionTable(
      'word × frame',
      rows.map(([w]) => w),
      Array.from({ length: frames }, (_, k) => `f${k + 1}`),
      rows.map(([, a]) => a!),
    ),
  );
}

async function captionClip(clip: Clip): Promise<void> {
  const out = $('video-out');
  out.textContent = '';
  clear($('video-attention'));
  const words: [string, number[] | undefined][] = [];
  if (mode() === 'page') {
    const model = await inPage(MODEL);
    for await (const t of model.caption(clip, { includeAttention: true })) {
      out.textContent += t.delta;
      words.push([t.token, t.attention]);
      showAttention(words);
    }
    return;
  }
  const form = new FormData();
  if (Array.isArray(clip)) clip.forEach((f, i) => form.append('frames', f, `frame-${i}`));
  else form.set('image', clip);
  form.set('model', MODEL);
  form.set('stream', 'true');
  form.set('include_attention', 'true');
  for await (const e of await postStream<CaptionEvent>('/v1/captions', form)) {
    if (e.type === 'caption.token') {
      out.textContent += e.delta ?? '';
      words.push([e.token ?? '', e.attention]);
      showAttention(words);
    }
  }
}

let sample = 0;
/** The bundled held-out clips (models/video_caption/heldout-sample/), one after the other. */
async function sampleClip(): Promise<Blob> {
  const url = (i: number) => `${base}/v1/models/${MODEL}/files/heldout-sample/${String(i).padStart(3, '0')}.gif`;
  let res = await fetch(url(sample % 12), { headers: authHeaders() });
  if (res.status === 404) res = await fetch(url((sample = 0)), { headers: authHeaders() });
  if (!res.ok) throw new Error(`the sample clip: HTTP ${res.status}`);
  sample++;
  return res.blob();
}

const shown: string[] = [];
/** The clip next to the caption: the animated image, or its frames side by side. */
function showClip(clip: Clip): void {
  for (const u of shown.splice(0)) URL.revokeObjectURL(u);
  const box = clear($('video-clip'));
  for (const f of Array.isArray(clip) ? clip : [clip]) {
    const url = URL.createObjectURL(f);
    shown.push(url);
    box.append(el('img', { src: url, alt: Array.isArray(clip) ? 'a frame of the clip' : 'the clip captioned', width: 96, height: 96 }));
  }
}

export function videoCaptionView(): void {
  $('video-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const files = Array.from($<HTMLInputElement>('video-file').files ?? []);
    if (!files.length) {
      $('video-out').textContent = 'choose an animated GIF or WebP, or several pictures (the frames in order), or use a sample clip';
      return;
    }
    const clip: Clip = files.length === 1 ? files[0] : files.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    action('view-video', 'captioning the clip', () => {
      showClip(clip);
      return captionClip(clip);
    });
  });
  $('video-sample').addEventListener('click', () => {
    action('view-video', 'captioning a sample clip', async () => {
      const clip = await sampleClip();
      showClip(clip);
      await captionClip(clip);
    });
  });
}
