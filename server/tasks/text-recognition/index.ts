/**
 * Text recognition: a CTC recogniser over the width of a text-line image (many to many, the output
 * shorter), such as PaddleOCR's PP-OCRv4, served by its manifest's `textLine` section alone
 * (spec.ts): `POST /v1/ocr/lines`.
 */
import { requireRoles, requireSection, type TaskModule } from '../task-module.ts';
import { type LineDecoding, type LineImage, type LineRecognizer, loadLineRecognizer, paddedLineWidth, type RecognizedLine } from './line-recognizer.ts';

/** The lines of one request, each recognised in its own graph run. */
export interface TextRecognitionRequest {
  lines: LineImage[];
  /** Greedy (best path) or CTC prefix beam search; default: the manifest's `textLine.ctc.beam.default`. */
  decoding?: LineDecoding;
  /** The request field of each line, for errors (default `image[i]`). */
  fields?: string[];
}

/** The most lines one request recognises. */
export const MAX_LINES_PER_REQUEST = 64;

export const textRecognition: TaskModule<'text-recognition', LineRecognizer, TextRecognitionRequest, RecognizedLine[]> = {
  name: 'text-recognition',
  description: 'text-line images to text with a CTC recogniser (POST /v1/ocr/lines), each character with its confidence and position',
  roles: ['recognizer'],
  checkManifest: (m) => {
    const issues = [...requireSection('text-recognition', m, 'textLine'), ...requireRoles('text-recognition', m, ['recognizer'])];
    if (Object.keys(m.graphs).length > 1) issues.push({ path: ['graphs'], message: 'text-recognition models have one graph (role "recognizer")' });
    return issues;
  },
  axisBounds: ({ model, manifest: { textLine }, spec, add }) => {
    if (!textLine || spec.role !== 'recognizer') return;
    add(textLine.image.input, 0, MAX_LINES_PER_REQUEST, 'the lines of one text-recognition request');
    add(textLine.image.input, 3, paddedLineWidth(textLine.image.maxWidth, textLine.image), `textLine.image.maxWidth of model ${model}, padded`);
  },
  runsInExecutor: true,
  validate: (recognizer, { lines, fields }) => recognizer.validate(lines, fields ?? []),
  load: ({ manifest, read, runners }) => {
    const [graph] = Object.entries(manifest.graphs).find(([, g]) => g.role === 'recognizer')!;
    return loadLineRecognizer(manifest.textLine!, read, runners[graph]);
  },
  async *run(recognizer, { lines, decoding, fields }, signal) {
    yield await recognizer.recognize(lines, decoding, fields, signal);
  },
};
