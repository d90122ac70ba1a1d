/**
 * A clip for a video captioner (a manifest's `video` section) from what a client sends: an animated
 * GIF or WebP (`decodeClip`; sharp reads its pages and frame delays), or an ordered list of still
 * pictures, one per frame (`decodeFrameList`). Only the frames the model takes are decoded
 * (`sampleFrames`: the manifest's frame count, by time or by index); each is stretched to the
 * model's frame size on its own, so frames of mixed sizes are taken as they come.
 *
 * Refused (400 naming the field, 413 over a pixel limit): no frames, fewer than video.minFrames (a
 * still picture is not a clip), more than video.maxFrames, a frame over --max-image-pixels, and a
 * clip whose frames hold more than --max-image-pixels together (width x height x frames, checked
 * from the header before any pixel is decoded).
 */
import sharp, { type Sharp } from 'sharp';
import { invalidArgument, SeqserveError } from '../core/errors.ts';
import type { ImageSource } from '../core/generation/generation-engine.ts';
import type { ImageSpec, VideoSpec } from '../core/manifest.ts';
import { checkFrameCount, type FramePixels, sampleFrames, videoTensor } from '../core/video/video-tensor.ts';
import { checkedImageSize, decodeImage } from './decode-image.ts';

async function framePixels(input: Sharp, spec: VideoSpec, field: string): Promise<FramePixels> {
  try {
    const { data, info } = await input
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(spec.width, spec.height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { pixels: data, width: info.width, height: info.height, channels: info.channels === 4 ? 4 : 3 };
  } catch (err) {
    if (err instanceof SeqserveError) throw err;
    throw invalidArgument(field, `could not be decoded (${(err as Error).message})`);
  }
}

/** The sampled frames in order, each source frame decoded once however often it is sampled. */
async function decodeEach(indices: readonly number[], decode: (k: number) => Promise<FramePixels>): Promise<FramePixels[]> {
  const decoded = new Map<number, FramePixels>();
  const frames: FramePixels[] = [];
  for (const k of indices) {
    let f = decoded.get(k);
    if (!f) {
      f = await decode(k);
      decoded.set(k, f);
    }
    frames.push(f);
  }
  return frames;
}

function tooLarge(field: string, message: string): SeqserveError {
  return new SeqserveError('payload_too_large', `${field}: ${message}`, { field });
}

/** An animated GIF or WebP → the clip the model takes. A still picture is refused when the model takes at least 2 frames. */
export async function decodeClip(bytes: Uint8Array, spec: VideoSpec, maxPixels: number, field = 'image'): Promise<ImageSource> {
  const { width, height } = await checkedImageSize(bytes, maxPixels, field);
  let pages: number;
  let delays: number[] | undefined;
  try {
    const meta = await sharp(bytes, { animated: true }).metadata();
    pages = meta.pages ?? 1;
    delays = meta.delay;
  } catch {
    throw invalidArgument(field, 'is not an image (an animated GIF or WebP expected)');
  }
  checkFrameCount(pages, spec, field);
  if (width * height * pages > maxPixels) throw tooLarge(field, `${pages} frames of ${width}x${height} are ${width * height * pages} pixels; the limit is ${maxPixels}`);
  const frames = await decodeEach(sampleFrames(pages, spec, delays), (k) => framePixels(sharp(bytes, { page: k, pages: 1, limitInputPixels: maxPixels }), spec, field));
  return videoTensor(frames, spec, field);
}

/**
 * Ordered still pictures (PNG, JPEG, WebP, GIF; each its first page), one per frame → the clip.
 * Every frame's header is checked (fields `${field}[i]`); only the sampled frames are decoded.
 */
export async function decodeFrameList(
  list: readonly Uint8Array[],
  spec: VideoSpec,
  maxPixels: number,
  field = 'frames',
  fields: readonly string[] = list.map((_, i) => `${field}[${i}]`),
): Promise<ImageSource> {
  checkFrameCount(list.length, spec, field);
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const { width, height } = await checkedImageSize(list[i], maxPixels, fields[i]);
    total += width * height;
  }
  if (total > maxPixels) throw tooLarge(field, `${list.length} frames hold ${total} pixels together; the limit is ${maxPixels}`);
  const frames = await decodeEach(sampleFrames(list.length, spec), (k) => framePixels(sharp(list[k], { limitInputPixels: maxPixels }), spec, fields[k]));
  return videoTensor(frames, spec, field);
}

/** A caption request's picture input: `image` (a still image, or an animated GIF/WebP clip) or `frames` (pictures in order). */
export interface CaptionInput {
  image?: { bytes: Uint8Array; field: string };
  /** fields: each picture's field name for errors (default `${field}[i]`). */
  frames?: { bytes: Uint8Array[]; field: string; fields?: string[] };
}

/**
 * What a caption model encodes from a request's `image` or `frames`: a still image for an image
 * captioner, a clip (an animated `image`, or `frames`) for a video captioner. The fields that do
 * not fit the model are refused, naming the model's kind.
 */
export async function captionSource(model: { image?: ImageSpec; video?: VideoSpec }, input: CaptionInput, maxPixels: number): Promise<ImageSource> {
  if (input.image && input.frames) throw invalidArgument(input.frames.field, 'send either an image or frames, not both');
  if (model.video) {
    if (input.frames) return decodeFrameList(input.frames.bytes, model.video, maxPixels, input.frames.field, input.frames.fields);
    if (input.image) return decodeClip(input.image.bytes, model.video, maxPixels, input.image.field);
    throw invalidArgument('image', 'is required (an animated GIF or WebP), or frames (a list of pictures in order)');
  }
  if (input.frames) throw invalidArgument(input.frames.field, 'this model captions still images; send one image (a video caption model takes frames)');
  if (!input.image) throw invalidArgument('image', 'is required');
  return decodeImage(input.image.bytes, model.image!, maxPixels, input.image.field);
}
