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

export async function decodeImage(bytes: Uint8Array, spec: ImageSpec, maxPixels: number, field = 'image'): Promise<ImageSource> {
  if (bytes.length === 0) throw invalidArgument(field, 'is empty');
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw invalidArgument(field, 'is not an image (PNG, JPEG, WebP or GIF expected)');
  }
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) throw new SeqserveError('payload_too_large', `${field}: ${meta.width}x${meta.height} is ${pixels} pixels; the limit is ${maxPixels}`, { field });
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
