/**
 * A graph's signature as a manifest declares it (`graphs.<g>.inputs` / `.outputs`, as Triton's
 * config.pbtxt `input` / `output`): each tensor's name, KServe datatype and shape, with a variable
 * axis written as its symbolic dimension's name (or -1). `seqserve init` and the repository's
 * auto-configuration write them from the graph (server/core/manifest-inference.ts); at load a
 * declared signature is checked against the graph, so a manifest that no longer fits its ONNX file
 * (a re-export with other names, types or fixed lengths) fails to load naming the difference.
 * Optional: a manifest without them takes the graph's signature as it is.
 */
import { z } from 'zod';
import type { InputSignature } from './feed-check.ts';
import { KSERVE_TO_ORT, kserveDatatype } from '../kserve/datatypes.ts';

const DATATYPES = Object.keys(KSERVE_TO_ORT) as [keyof typeof KSERVE_TO_ORT, ...(keyof typeof KSERVE_TO_ORT)[]];

export const TensorSpec = z
  .strictObject({
    name: z.string().min(1).describe("the tensor's name in the graph"),
    datatype: z.enum(DATATYPES).describe('its KServe datatype (FP32, INT64, BYTES, ...)'),
    shape: z
      .array(z.union([z.number().int().min(-1), z.string().min(1)]))
      .describe('one entry per axis: the length of a fixed axis; a variable axis\'s symbolic dimension name ("batch"), or -1 when the graph leaves it unnamed'),
  })
  .describe('a tensor of the graph, as ONNX Runtime reads it');

export type TensorSpec = z.infer<typeof TensorSpec>;

/** How a tensor of the graph is declared: fixed axes as numbers, variable ones by name (or -1). */
export function tensorSpecOf(t: InputSignature): TensorSpec {
  return { name: t.name, datatype: kserveDatatype(t.type as Parameters<typeof kserveDatatype>[0]), shape: t.shape.map((d, axis) => (d >= 0 ? d : (t.dimNames?.[axis] ?? -1))) };
}

const shapeText = (shape: readonly (number | string)[]) => `[${shape.join(', ')}]`;

/**
 * What differs between the tensors a manifest declares for graph `graph` and the graph's own
 * (`graphs.<g>.inputs[1].datatype: ...`); empty when they agree or nothing is declared. A declared
 * list is the whole list: a graph tensor it leaves out is a difference too. Names of variable axes
 * are not compared (they document which axes vary together); fixed lengths and which axes vary are.
 */
export function signatureProblems(
  graph: string,
  declared: { inputs?: readonly TensorSpec[]; outputs?: readonly TensorSpec[] },
  actual: { inputs: readonly InputSignature[]; outputs: readonly InputSignature[] },
): string[] {
  const problems: string[] = [];
  for (const kind of ['inputs', 'outputs'] as const) {
    const list = declared[kind];
    if (!list) continue;
    const field = `graphs.${graph}.${kind}`;
    const noun = kind === 'inputs' ? 'input' : 'output';
    const tensors = actual[kind];
    list.forEach((d, i) => {
      const t = tensors.find((x) => x.name === d.name);
      if (!t) {
        problems.push(`${field}[${i}].name: the graph has no ${noun} "${d.name}" (${kind}: ${tensors.map((x) => x.name).join(', ') || 'none'})`);
        return;
      }
      const want = tensorSpecOf(t);
      if (want.datatype !== d.datatype) problems.push(`${field}[${i}].datatype: the graph's ${noun} "${d.name}" is ${want.datatype}, not ${d.datatype}`);
      const fits =
        want.shape.length === d.shape.length &&
        want.shape.every((w, axis) => (typeof w === 'number' && w >= 0 ? d.shape[axis] === w : typeof d.shape[axis] === 'string' || d.shape[axis] === -1));
      if (!fits)
        problems.push(
          `${field}[${i}].shape: the graph's ${noun} "${d.name}" is ${shapeText(want.shape)}, not ${shapeText(d.shape)} (fixed lengths must be equal, variable axes a name or -1)`,
        );
    });
    const seen = new Set<string>();
    list.forEach((d, i) => {
      if (seen.has(d.name)) problems.push(`${field}[${i}].name: "${d.name}" is declared twice`);
      seen.add(d.name);
    });
    for (const t of tensors) if (!seen.has(t.name)) problems.push(`${field}: the graph's ${noun} "${t.name}" is not declared (declare every ${noun}, or none)`);
  }
  return problems;
}
