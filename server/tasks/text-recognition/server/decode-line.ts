/**
 * A text-line image's bytes (PNG, JPEG, WebP, GIF, ...) → the `LineImage` a text recogniser reads:
 * sharp decodes it (EXIF orientation applied, transparency on white, sRGB) and resizes it to the
 * manifest's height with its aspect ratio kept. Its size is checked from the header before any pixel
 * is decoded: over `--max-image-pixels` is 413, a line wider than the model reads at its height is 400.
 */
import sharp from 'sharp';
import { checkedImageSize } from '../../../images/decode-image.ts';
import { invalidArgument, SeqserveError } from '../../../core/errors.ts';
import { resizedLineWidth, type LineImage } from '../line-recognizer.ts';
import type { TextLineImageSpec } from '../spec.ts';

/**
 * The lines of one request, decoded one after another: a request of many lines holds at most one
 * decoded full-size image at a time (each may be up to `--max-image-pixels`). `signal` (the call's)
 * is checked before each line, so a request whose client left stops decoding.
 */
export async function decodeLines(images: { bytes: Uint8Array; field: string }[], spec: TextLineImageSpec, maxPixels: number, signal?: AbortSignal): Promise<LineImage[]> {
  const lines: LineImage[] = [];
  for (const { bytes, field } of images) {
    signal?.throwIfAborted();
    lines.push(await decodeLine(bytes, spec, maxPixels, field));
  }
  return lines;
}

export async function decodeLine(bytes: Uint8Array, spec: TextLineImageSpec, maxPixels: number, field = 'image'): Promise<LineImage> {
  const { width: w, height: h } = await checkedImageSize(bytes, maxPixels, field);
  const width = resizedLineWidth(w, h, spec.height);
  if (width > spec.maxWidth)
    throw invalidArgument(
      field,
      `a ${w}x${h} line is ${width} pixels wide at the model's height ${spec.height}; the model reads lines up to ${spec.maxWidth} (an aspect ratio up to ${(spec.maxWidth / spec.height).toFixed(1)}): send one line of text per image, cut into shorter lines`,
    );
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels })
      .rotate() // apply EXIF orientation
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(width, spec.height, { fit: 'fill', kernel: spec.resample })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== spec.height) throw new Error(`decoded as ${info.width}x${info.height}x${info.channels}`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height: spec.height, sourceWidth: w };
  } catch (err) {
    if (err instanceof SeqserveError) throw err;
    throw invalidArgument(field, `could not be decoded (${(err as Error).message})`);
  }
}
