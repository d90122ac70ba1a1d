/**
 * Image bytes (PNG, JPEG, WebP, GIF, ...) → the encoder input a manifest declares. sharp decodes
 * and resizes (stretching to the model's size, as the browser's canvas does); images over the
 * configured pixel limit are refused before their pixels are decoded.
 */
import sharp, { type Metadata } from 'sharp';
import { invalidArgument, SeqserveError } from '../core/errors.ts';
import { bytesFromBase64Text } from '../http/base64-bytes.ts';
import type { ImageSource } from '../core/generation/generation-engine.ts';
import { imageTensor } from '../core/image/image-tensor.ts';
import type { ImageSpec } from '../core/manifest.ts';

/**
 * An image's size as it will be shown (EXIF orientation applied), read from its header before any
 * pixel is decoded: empty bytes, bytes that are not an image and an image without pixels are 400,
 * one over `maxPixels` is 413.
 */
export async function checkedImageSize(bytes: Uint8Array, maxPixels: number, field: string): Promise<{ width: number; height: number }> {
  if (bytes.length === 0) throw invalidArgument(field, 'is empty');
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw invalidArgument(field, 'is not an image (PNG, JPEG, WebP or GIF expected)');
  }
  const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height ?? 0, meta.width ?? 0] : [meta.width ?? 0, meta.height ?? 0];
  if (!(width >= 1 && height >= 1)) throw invalidArgument(field, 'has no pixels');
  const pixels = width * height;
  if (pixels > maxPixels) throw new SeqserveError('payload_too_large', `${field}: ${width}x${height} is ${pixels} pixels; the limit is ${maxPixels}`, { field });
  return { width, height };
}

export async function decodeImage(bytes: Uint8Array, spec: ImageSpec, maxPixels: number, field = 'image'): Promise<ImageSource> {
  await checkedImageSize(bytes, maxPixels, field);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels })
      .rotate() // apply EXIF orientation
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(spec.width, spec.height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return imageTensor(data, info.width, info.height, info.channels === 4 ? 4 : 3, spec);
  } catch (err) {
    if (err instanceof SeqserveError) throw err;
    throw invalidArgument(field, `could not be decoded (${(err as Error).message})`);
  }
}

/** The bytes of a `data:` URL or plain base64 text; web URLs are refused (the server fetches nothing). */
export function imageBytesFromText(text: string, field: string): Uint8Array {
  return bytesFromBase64Text(text, field, 'data:image/png;base64,');
}
