/**
 * The manifest section of a text-line recogniser (`textLine`): a small vocabulary of pre- and
 * post-processing steps, so a published CTC text recogniser (PaddleOCR's PP-OCR, and the next one)
 * is served by its manifest alone.
 *
 * Pre-processing, in order: the image is converted to RGB on white, resized to `image.height`
 * keeping its aspect ratio (width = ceil(height × w / h), the `resample` kernel), each channel
 * becomes (pixel × scale − mean) / std, the channels are laid out in `channels` order ([3, height,
 * width], planar), and the width is padded on the right with `padValue` (a value after
 * normalisation) up to `minWidth` and then up to a multiple of `widthMultiple`. A line whose resized
 * width is over `maxWidth` is refused (never squeezed).
 *
 * Post-processing: the graph's `ctc.output` holds [batch, frames, classes] scores (`scores`:
 * probabilities after a softmax, log-probabilities or logits); class `blank` is the CTC blank and the
 * others are the characters of `ctc.characters` in order, skipping the blank's index (PaddleOCR: blank
 * 0, character i at class i + 1). `space: "append"` adds " " as the last character, as PaddleOCR's
 * `use_space_char`. Greedy (best path) or CTC prefix beam search (server/core/decode/ctc.ts).
 *
 * Imports zod (and the file-name type, which imports zod only): server/core/manifest.ts imports it,
 * and the task registry imports the task.
 */
import { z } from 'zod';
import { fileName } from '../../core/manifest-file-name.ts';

export const TextLineImageSpec = z
  .strictObject({
    input: z.string().min(1).describe('the graph input that takes the line image, [batch, 3, height, width] float32'),
    height: z.number().int().min(8).max(256).describe('the height every line is resized to (PP-OCRv4: 48); the width follows the aspect ratio'),
    channels: z.enum(['rgb', 'bgr']).default('rgb').describe('the channel order of the input (PaddleOCR reads images with OpenCV: bgr)'),
    scale: z
      .number()
      .positive()
      .default(1 / 255)
      .describe('each 8-bit pixel value is multiplied by this before mean and std (1/255: values in [0, 1])'),
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]).describe('subtracted per channel after scale, in the order of channels'),
    std: z
      .tuple([z.number().positive(), z.number().positive(), z.number().positive()])
      .default([1, 1, 1])
      .describe('divides per channel after mean, in the order of channels (PaddleOCR: mean 0.5, std 0.5: values in [-1, 1])'),
    resample: z
      .enum(['linear', 'cubic', 'lanczos3', 'nearest'])
      .default('linear')
      .describe("the resampling kernel of the resize to height (OpenCV's cv2.resize, which PaddleOCR uses, is linear)"),
    minWidth: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .default(16)
      .describe('narrower lines are padded on the right up to this width (PaddleOCR pads every line to at least 320 at height 48)'),
    widthMultiple: z.number().int().min(1).max(256).default(1).describe('the padded width is a multiple of this (1: no rounding)'),
    maxWidth: z
      .number()
      .int()
      .min(1)
      .max(16_384)
      .default(3200)
      .describe('the widest line after the resize to height; a longer line (aspect ratio over maxWidth / height) is refused with 400'),
    padValue: z.number().default(0).describe('the value of the padding, after normalisation (PaddleOCR: 0)'),
  })
  .describe('how a text-line image becomes the graph input');

export const TextLineCtcSpec = z
  .strictObject({
    output: z.string().min(1).describe('the graph output holding [batch, frames, classes] scores'),
    scores: z
      .enum(['probabilities', 'log-probabilities', 'logits'])
      .default('probabilities')
      .describe('what the output holds: probabilities (after a softmax, as PP-OCR), log-probabilities, or logits (a softmax is applied)'),
    blank: z.number().int().nonnegative().default(0).describe('the class of the CTC blank'),
    characters: fileName.describe(
      'the character list, a UTF-8 text file of one character per line (PaddleOCR\'s ppocr_keys_v1.txt) in class order, the blank\'s class skipped; a file of the model folder or an "npm:<package>/<path>" reference',
    ),
    space: z.enum(['append', 'none']).default('none').describe('append: " " is the last character, after the file\'s (PaddleOCR\'s use_space_char)'),
    beam: z
      .strictObject({
        width: z.number().int().min(1).max(64).default(8).describe('the beam width of the CTC prefix beam search'),
        default: z.boolean().default(false).describe('beam search is the default decoding (else greedy, best path)'),
        minTokenProbability: z
          .number()
          .min(0)
          .lt(1)
          .default(1e-4)
          .describe(
            'a character less probable than this at a frame does not extend the beam prefixes there (pruning: the search is linear in the characters kept, not in all classes)',
          ),
      })
      .default({ width: 8, default: false, minTokenProbability: 1e-4 })
      .describe('CTC prefix beam search (decoding: "beam" in a request)'),
  })
  .describe('how the graph output becomes text');

export const TextLineSpec = z
  .strictObject({
    image: TextLineImageSpec,
    ctc: TextLineCtcSpec,
  })
  .describe('a text-line recogniser (text-recognition models): pre-processing of the line image and CTC decoding');

export type TextLineSpec = z.infer<typeof TextLineSpec>;
export type TextLineImageSpec = z.infer<typeof TextLineImageSpec>;
