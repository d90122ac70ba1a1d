/**
 * A CTC text-line recogniser as its manifest's `textLine` section declares it (spec.ts): line
 * images (already resized to the section's height, RGB) → the graph input (normalised, channel
 * order, padded), one graph run per line, then greedy or prefix-beam CTC decoding
 * (server/core/decode/ctc.ts) over the character list. Runtime-agnostic: the server decodes and
 * resizes images with sharp (server/tasks/text-recognition/server/decode-line.ts), a page could with a canvas.
 */
import { Tensor } from 'onnxruntime-common';
import { ctcGreedy, ctcPrefixBeamSearch } from '../../core/decode/ctc.ts';
import { invalidArgument, SeqserveError } from '../../core/errors.ts';
import type { GraphRunner } from '../../core/graph-runner.ts';
import type { ReadModelFile } from '../../core/model-files.ts';
import type { TextLineImageSpec, TextLineSpec } from './spec.ts';

/** One line image, resized to the model's height with its aspect ratio kept: interleaved RGB bytes. */
export interface LineImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** The width of the image the client sent, in pixels (characters' x are in its pixels). */
  sourceWidth: number;
}

export type LineDecoding = 'greedy' | 'beam';

export interface RecognizedCharacter {
  char: string;
  /** The probability of the character at the frame where it is emitted. */
  confidence: number;
  /** The centre of that frame along the width, in the client's image pixels. */
  x: number;
}

export interface RecognizedLine {
  text: string;
  /** The mean of the characters' confidences (PaddleOCR's score); 0 for a line with no character. */
  confidence: number;
  characters: RecognizedCharacter[];
}

/** The width of a line of `width` x `height` resized to `targetHeight`, its aspect ratio kept (PaddleOCR: ceil). */
export function resizedLineWidth(width: number, height: number, targetHeight: number): number {
  return Math.max(1, Math.ceil((targetHeight * width) / height));
}

/** The padded width of the graph input for a line `width` wide. */
export function paddedLineWidth(width: number, spec: TextLineImageSpec): number {
  const w = Math.max(width, spec.minWidth);
  return Math.ceil(w / spec.widthMultiple) * spec.widthMultiple;
}

/** [3, height, paddedWidth] floats: (pixel × scale − mean) / std in the manifest's channel order, padded on the right. */
export function lineTensor(line: LineImage, spec: TextLineImageSpec): { data: Float32Array; width: number } {
  const { width, height } = line;
  const padded = paddedLineWidth(width, spec);
  const plane = height * padded;
  const data = new Float32Array(3 * plane).fill(spec.padValue);
  const order = spec.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  for (let c = 0; c < 3; c++) {
    const source = order[c];
    const mean = spec.mean[c];
    const std = spec.std[c];
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[c * plane + y * padded + x] = (line.pixels[(y * width + x) * 3 + source] * spec.scale - mean) / std;
  }
  return { data, width: padded };
}

/** Per-frame log-probabilities [frames, classes] from the graph's scores. */
export function logProbabilities(scores: Float32Array, frames: number, classes: number, kind: TextLineSpec['ctc']['scores']): Float32Array {
  const out = new Float32Array(frames * classes);
  for (let t = 0; t < frames; t++) {
    const row = t * classes;
    if (kind === 'log-probabilities') out.set(scores.subarray(row, row + classes), row);
    else if (kind === 'probabilities') for (let v = 0; v < classes; v++) out[row + v] = Math.log(Math.max(scores[row + v], 1e-30));
    else {
      let max = -Infinity;
      for (let v = 0; v < classes; v++) max = Math.max(max, scores[row + v]);
      let sum = 0;
      for (let v = 0; v < classes; v++) sum += Math.exp(scores[row + v] - max);
      const log = max + Math.log(sum);
      for (let v = 0; v < classes; v++) out[row + v] = scores[row + v] - log;
    }
  }
  return out;
}

/** The characters of a character-list file: one per line, a trailing newline ignored, "\r" of CRLF files dropped. */
export function parseCharacterList(text: string, file: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const chars = lines.map((l) => l.replace(/\r$/, ''));
  if (chars.length === 0) throw new SeqserveError('failed_precondition', `${file}: the character list is empty`);
  return chars;
}

export class LineRecognizer {
  /** The character of each class; the blank's is ''. */
  readonly classes: string[];

  constructor(
    readonly spec: TextLineSpec,
    characters: string[],
    private readonly runner: GraphRunner,
  ) {
    const chars = spec.ctc.space === 'append' ? [...characters, ' '] : characters;
    this.classes = [...chars.slice(0, spec.ctc.blank), '', ...chars.slice(spec.ctc.blank)];
  }

  /** What `recognize` refuses, before any graph run (a zero-length or over-long axis never reaches the runtime). */
  validate(lines: LineImage[], fields: string[]): void {
    const { height, maxWidth } = this.spec.image;
    if (lines.length === 0) throw invalidArgument('image', 'is required (at least one line image)');
    lines.forEach((line, i) => {
      const field = fields[i] ?? `image[${i}]`;
      if (line.height !== height) throw invalidArgument(field, `must be resized to height ${height} first (got ${line.height})`);
      if (!(line.width >= 1) || line.width > maxWidth)
        throw invalidArgument(field, `is ${line.width} pixels wide at height ${height}; the model reads lines of 1 to ${maxWidth} (textLine.image.maxWidth)`);
      if (line.pixels.length !== line.width * line.height * 3) throw invalidArgument(field, `has ${line.pixels.length} values; ${line.width}x${line.height}x3 expected`);
      if (!(line.sourceWidth >= 1)) throw invalidArgument(field, 'sourceWidth must be at least 1');
    });
  }

  /**
   * The lines, one graph run after another: `signal` is checked before each, so a request its client
   * left (or that timed out) stops at the next line instead of running every one.
   */
  async recognize(lines: LineImage[], decoding: LineDecoding | undefined, fields: string[] = [], signal?: AbortSignal): Promise<RecognizedLine[]> {
    this.validate(lines, fields);
    const useBeam = decoding === undefined ? this.spec.ctc.beam.default : decoding === 'beam';
    const results: RecognizedLine[] = [];
    for (const line of lines) {
      signal?.throwIfAborted();
      results.push(await this.recognizeLine(line, useBeam));
    }
    return results;
  }

  private async recognizeLine(line: LineImage, useBeam: boolean): Promise<RecognizedLine> {
    const { image, ctc } = this.spec;
    const input = lineTensor(line, image);
    const outputs = await this.runner.run({ [image.input]: new Tensor('float32', input.data, [1, 3, image.height, input.width]) });
    const scores = outputs[ctc.output];
    if (!scores || scores.dims.length !== 3) throw new SeqserveError('internal', `graph output "${ctc.output}" is not [batch, frames, classes]`);
    const [, frames, classes] = scores.dims;
    if (classes !== this.classes.length)
      throw new SeqserveError('failed_precondition', `graph output "${ctc.output}" has ${classes} classes; the character list with the blank has ${this.classes.length}`);
    const logProbs = logProbabilities(scores.data as Float32Array, frames, classes, ctc.scores);
    let tokens: number[];
    let at: number[];
    let probs: number[];
    if (useBeam) {
      const best = ctcPrefixBeamSearch(logProbs, frames, classes, {
        beamWidth: ctc.beam.width,
        blank: ctc.blank,
        tokenLogProbFloor: ctc.beam.minTokenProbability > 0 ? Math.log(ctc.beam.minTokenProbability) : undefined,
      })[0];
      [tokens, at, probs] = [best?.tokens ?? [], best?.frames ?? [], best?.probs ?? []];
    } else {
      const best = ctcGreedy(logProbs, frames, classes, ctc.blank);
      [tokens, at] = [best.tokens, best.frames];
      probs = tokens.map((v, i) => Math.exp(logProbs[at[i] * classes + v]));
    }
    // frame t covers columns [t, t + 1) × (padded width / frames) of the input; back to the client's pixels
    const toSource = (input.width / frames) * (line.sourceWidth / line.width);
    const characters = tokens.map((v, i) => ({ char: this.classes[v], confidence: probs[i], x: Math.min(line.sourceWidth, (at[i] + 0.5) * toSource) }));
    const confidence = characters.length ? characters.reduce((s, c) => s + c.confidence, 0) / characters.length : 0;
    return { text: characters.map((c) => c.char).join(''), confidence, characters };
  }
}

/** Builds the recogniser of a text-recognition manifest: the character list read, the class count checked by one run. */
export async function loadLineRecognizer(spec: TextLineSpec, read: ReadModelFile, runner: GraphRunner): Promise<LineRecognizer> {
  const file = spec.ctc.characters;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await read(file));
  } catch (err) {
    if (err instanceof TypeError) throw new SeqserveError('failed_precondition', `${file}: the character list is not UTF-8 text`);
    throw err;
  }
  const characters = parseCharacterList(text, file);
  const recognizer = new LineRecognizer(spec, characters, runner);
  if (!runner.inputNames.includes(spec.image.input)) throw new SeqserveError('failed_precondition', `textLine.image.input: the graph has no input "${spec.image.input}"`);
  if (!runner.outputNames.includes(spec.ctc.output)) throw new SeqserveError('failed_precondition', `textLine.ctc.output: the graph has no output "${spec.ctc.output}"`);
  // one blank line: the graph's class count must be the character list's with the blank
  const width = Math.min(spec.image.maxWidth, Math.max(spec.image.minWidth, 8));
  await recognizer
    .recognize([{ pixels: new Uint8Array(width * spec.image.height * 3).fill(255), width, height: spec.image.height, sourceWidth: width }], 'greedy')
    .catch((err: Error) => {
      throw new SeqserveError('failed_precondition', `textLine: ${err.message} (${file})`);
    });
  return recognizer;
}
