/**
 * KServe v2 REST encoding: JSON bodies, and the binary tensor extension (a JSON header of
 * `Inference-Header-Content-Length` bytes followed by raw tensors in input order).
 */
import { Tensor } from 'onnxruntime-common';
import { z } from 'zod';
import { invalidArgument, SeqserveError } from '../core/errors.ts';
import { concatBytes } from '../core/kserve-binary.ts';
import { parseJson } from '../core/parse-json.ts';
import { sequenceParameters, taskParameters, type InferRequest, type InferResult } from './infer.ts';
import { hasNonFinite, tensorJsonText, tensorToRaw } from './tensor-codec.ts';

const Parameters = z.record(z.string(), z.unknown()).optional();

/** A KServe v2 REST infer body (the JSON, or the JSON header of the binary tensor extension). */
export const RestInferRequest = z.object({
  id: z.string().optional(),
  parameters: Parameters,
  inputs: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number().int().nonnegative()),
        datatype: z.string().min(1),
        parameters: Parameters,
        data: z.unknown().optional(),
      }),
    )
    .min(1),
  outputs: z.array(z.object({ name: z.string().min(1), parameters: Parameters })).optional(),
});

/** Strict: invalid UTF-8 in the JSON is refused, never turned into U+FFFD inside a BYTES string. */
const JSON_TEXT = new TextDecoder('utf-8', { fatal: true });

/**
 * Set on a JSON output whose data holds NaN or ±Infinity: JSON has no such numbers, so they are
 * written as null; the binary extension (and gRPC) return them exactly.
 */
export const NON_FINITE_NOTE = 'NaN/Infinity values are null in JSON data; ask for binary_data to get them exactly';

/** Decodes a REST infer body (JSON, or JSON header + binary tensors) into an InferRequest. */
export function decodeRestInfer(body: Uint8Array, headerLength: string | undefined): InferRequest {
  let jsonBytes: Uint8Array = body;
  let binary: Uint8Array = new Uint8Array(0);
  if (headerLength !== undefined) {
    // decimal digits only: Number() would also read "", "0x10" and "1e1"
    const n = /^\s*\d{1,15}\s*$/.test(headerLength) ? Number(headerLength) : NaN;
    if (!Number.isSafeInteger(n) || n > body.byteLength)
      throw invalidArgument('Inference-Header-Content-Length', `must be an integer between 0 and the body size (${body.byteLength}), not "${headerLength}"`);
    jsonBytes = body.subarray(0, n);
    binary = body.subarray(n);
  }
  let text: string;
  try {
    text = JSON_TEXT.decode(jsonBytes);
  } catch {
    throw invalidArgument(headerLength === undefined ? 'body' : 'header', 'is not valid UTF-8; JSON must be UTF-8 text');
  }
  const req = parseJson(text, RestInferRequest);
  let offset = 0;
  const inputs = req.inputs.map((input, i) => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) return { name: input.name, datatype: input.datatype, shape: input.shape, data: input.data };
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalidArgument(`inputs[${i}].parameters.binary_data_size`, 'must be a non-negative integer');
    if (input.data !== undefined) throw invalidArgument(`inputs[${i}]`, 'has both data and binary_data_size');
    if (offset + size > binary.byteLength)
      throw invalidArgument(`inputs[${i}].parameters.binary_data_size`, `declares ${size} bytes but only ${binary.byteLength - offset} binary bytes remain in the body`);
    const raw = binary.subarray(offset, offset + size);
    offset += size;
    return { name: input.name, datatype: input.datatype, shape: input.shape, raw };
  });
  if (offset !== binary.byteLength) throw invalidArgument('body', `${binary.byteLength - offset} binary bytes after the last tensor are not claimed by any input`);
  const binaryOutputs = req.parameters?.binary_data_output;
  const sequence = sequenceParameters(req.parameters);
  const parameters = taskParameters(req.parameters);
  return {
    ...(req.id !== undefined ? { id: req.id } : {}),
    ...(sequence ? { sequence } : {}),
    ...(parameters ? { parameters } : {}),
    inputs,
    ...(req.outputs
      ? { outputs: req.outputs.map((o) => ({ name: o.name, ...(typeof o.parameters?.binary_data === 'boolean' ? { binary: o.parameters.binary_data } : {}) })) }
      : {}),
    ...(typeof binaryOutputs === 'boolean' ? { binaryOutputs } : {}),
  };
}

export interface EncodedResponse {
  body: Uint8Array | string;
  /** Set when the body carries binary tensors after the JSON header. */
  headerLength?: number;
}

/** Elements written as JSON text between two turns of the event loop (~10–20 ms of work). */
const JSON_ELEMENTS_PER_TURN = 1 << 15;

/**
 * A tensor's JSON `data` text; a large numeric one is written a slice at a time, letting the event
 * loop run between slices (a 2.6M-element output took 3 s in one piece: every other request waited),
 * and refused once the response's text passes `budget.left` characters (JSON text of numbers: one
 * byte each).
 */
async function tensorJson(t: Tensor, nonFinite: boolean, budget: { left: number; limit: number }): Promise<string> {
  const spend = (text: string) => {
    budget.left -= text.length;
    if (budget.left < 0)
      throw new SeqserveError(
        'payload_too_large',
        `outputs: the JSON response would be over the response limit of ${budget.limit} bytes (--max-body-bytes); ask for binary outputs (parameters.binary_data_output), a smaller batch or fewer outputs`,
        { field: 'outputs' },
      );
    return text;
  };
  if (t.size <= JSON_ELEMENTS_PER_TURN || t.type === 'string' || t.type === 'bool' || nonFinite) return spend(tensorJsonText(t));
  const data = t.data as Float32Array; // any numeric typed array: only subarray is used
  const parts: string[] = [];
  for (let from = 0; from < data.length; from += JSON_ELEMENTS_PER_TURN) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const to = Math.min(data.length, from + JSON_ELEMENTS_PER_TURN);
    parts.push(spend(tensorJsonText(new Tensor(t.type, data.subarray(from, to), [to - from])).slice(1, -1))); // without its brackets
  }
  return `[${parts.join(',')}]`;
}

/** A KServe REST response; its JSON text is held to `maxBytes` (the binary extension's raw tensors are not: `infer` checks those). */
export async function encodeRestInfer(result: InferResult, maxBytes = Infinity): Promise<EncodedResponse> {
  const blobs: Uint8Array[] = [];
  const budget = { left: maxBytes, limit: maxBytes };
  // Built as text so tensor data can be joined without an intermediate array (see tensorJsonText).
  const outputs: string[] = [];
  for (const o of result.outputs) {
    const base = JSON.stringify({ name: o.name, datatype: o.datatype, shape: o.shape }).slice(0, -1);
    if (!o.binary) {
      const nonFinite = hasNonFinite(o.tensor);
      outputs.push(`${base}${nonFinite ? `,"parameters":${JSON.stringify({ non_finite: NON_FINITE_NOTE })}` : ''},"data":${await tensorJson(o.tensor, nonFinite, budget)}}`);
      continue;
    }
    const raw = tensorToRaw(o.tensor);
    blobs.push(raw);
    outputs.push(`${base},"parameters":{"binary_data_size":${raw.byteLength}}}`);
  }
  const head = JSON.stringify({ model_name: result.modelName, model_version: result.modelVersion, ...(result.id ? { id: result.id } : {}) }).slice(0, -1);
  const json = `${head},"outputs":[${outputs.join(',')}]}`;
  if (blobs.length === 0) return { body: json };
  const header = new TextEncoder().encode(json);
  return { body: concatBytes([header, ...blobs]), headerLength: header.byteLength };
}
