/**
 * `POST /v1/ocr/lines`: text-line images → their text, each character with its confidence and its
 * position along the width (`x`, in the image's pixels). A multipart body with one `image` part per
 * line, or JSON `{"image": base64 | data: URL | [several]}`; optional `model` and `decoding`
 * (`"greedy"` | `"beam"`). One image answers `{model, text, confidence, characters}`; several (a JSON
 * array, or several parts) answer `{model, lines: [...]}` in their order.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { invalidArgument } from '../../../core/errors.ts';
import { issueField, parseJson } from '../../../core/parse-json.ts';
import type { ServerContext } from '../../../context.ts';
import { readText } from '../../../http/read-body.ts';
import { readForm } from '../../../http/read-form.ts';
import { requestSignal } from '../../../http/request-signal.ts';
import { imageBytesFromText } from '../../../images/decode-image.ts';
import { resolveTaskModel, runTask } from '../../../runtime/task-models.ts';
import { collectCall, onlyEvent, openCall } from '../../../service/task-call.ts';
import { MAX_LINES_PER_REQUEST } from '../index.ts';
import { decodeLines } from './decode-line.ts';

const lineImage = z.string({ error: 'must be base64 or a data: URL' }).min(1, 'is empty');
const lineImages = z.array(lineImage).min(1, 'is empty: at least one line image').max(MAX_LINES_PER_REQUEST, `at most ${MAX_LINES_PER_REQUEST} lines per request`);
const IMAGE_REQUIRED = 'is required: base64 or a data: URL, or an array of them';

export const OcrLinesOptions = z.strictObject({
  model: z.string().min(1, 'is empty').optional(),
  decoding: z.enum(['greedy', 'beam'], { error: 'must be "greedy" or "beam"' }).optional(),
});

/** The JSON body: one line image, or up to MAX_LINES_PER_REQUEST of them. */
export const OcrLinesJsonBody = OcrLinesOptions.extend({ image: z.union([lineImage, lineImages], { error: IMAGE_REQUIRED }) });

/**
 * The JSON body's `image` against the two sides of OcrLinesJsonBody's union, the one its shape
 * picks: a refusal names the element (`image[3]`), where the union's would name only `image`.
 */
function imageList(image: unknown): string[] {
  if (image === undefined) throw invalidArgument('image', IMAGE_REQUIRED);
  const parsed = z.object({ image: Array.isArray(image) ? lineImages : lineImage }).safeParse({ image });
  if (!parsed.success) throw invalidArgument(issueField(parsed.error.issues[0]), parsed.error.issues[0].message);
  return [parsed.data.image].flat();
}

interface OcrBody {
  options: z.infer<typeof OcrLinesOptions>;
  images: { bytes: Uint8Array; field: string }[];
  /** The request sent an array of images (or several parts): the answer is `lines`. */
  several: boolean;
}

async function readOcrBody(c: Context, maxBytes: number): Promise<OcrBody> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const { image, ...options } = parseJson(await readText(c, maxBytes), OcrLinesOptions.extend({ image: z.unknown().optional() }));
    const list = imageList(image);
    const field = (i: number) => (typeof image === 'string' ? 'image' : `image[${i}]`);
    return { options, images: list.map((text, i) => ({ bytes: imageBytesFromText(text, field(i)), field: field(i) })), several: typeof image !== 'string' };
  }
  if (!type.startsWith('multipart/form-data')) throw invalidArgument('body', 'must be multipart/form-data with "image" parts, or JSON with an "image" field');
  const form = await readForm(c, maxBytes, 'one "image" part per line');
  const parts = form.getAll('image');
  if (parts.length === 0) throw invalidArgument('image', 'is required (an image file part per line)');
  if (parts.length > MAX_LINES_PER_REQUEST) throw invalidArgument('image', `at most ${MAX_LINES_PER_REQUEST} lines per request (${parts.length} parts)`);
  const raw: Record<string, string> = {};
  for (const name of ['model', 'decoding'] as const) {
    const v = form.get(name);
    if (v === null || v === '') continue;
    if (typeof v !== 'string') throw invalidArgument(name, 'must be a text field');
    raw[name] = v;
  }
  form.forEach((_, key) => {
    if (!['image', 'model', 'decoding'].includes(key)) throw invalidArgument(key, 'unknown field (fields: image, model, decoding)');
  });
  const options = parseJson(JSON.stringify(raw), OcrLinesOptions);
  const field = (i: number) => (parts.length === 1 ? 'image' : `image[${i}]`);
  const images = await Promise.all(
    parts.map(async (p, i) => ({ bytes: typeof p === 'string' ? imageBytesFromText(p, field(i)) : new Uint8Array(await p.arrayBuffer()), field: field(i) })),
  );
  return { options, images, several: parts.length > 1 };
}

export function ocrRoutes(ctx: ServerContext): Hono {
  const app = new Hono();
  app.post('/v1/ocr/lines', async (c) => {
    const { options, images, several } = await readOcrBody(c, ctx.config.limits.maxBodyBytes);
    const loaded = resolveTaskModel(ctx.repository, 'text-recognition', options.model);
    const spec = loaded.taskModel.spec.image;
    const fields = images.map((i) => i.field);
    // the images are decoded inside the call: within the model's request limits, and stopped when the client leaves
    const call = openCall(ctx, { model: loaded.name, endpoint: 'ocr_lines', kind: 'request', signal: requestSignal(c) }, async function* (signal) {
      const lines = await decodeLines(images, spec, ctx.config.limits.maxImagePixels, signal);
      yield* runTask(loaded, { lines, decoding: options.decoding, fields }, signal);
    });
    const results = await collectCall(call, onlyEvent);
    return c.json(several ? { model: loaded.name, lines: results } : { model: loaded.name, ...results[0] });
  });
  return app;
}
