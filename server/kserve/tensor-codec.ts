/**
 * Conversions between KServe tensor encodings (JSON `data`, raw little-endian bytes) and ONNX
 * Runtime tensors. Every check names the request field it is about.
 */
import { Tensor } from 'onnxruntime-common';
import { invalidArgument } from '../core/errors.ts';
import { encodeBytesElements } from '../core/kserve-binary.ts';
import { ELEMENT_BYTES, INT_RANGE, KSERVE_TO_ORT, type KServeDatatype } from './datatypes.ts';

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Flattens nested row-major JSON arrays, checking that nesting agrees with the shape when nested. */
function flatten(field: string, data: unknown, shape: readonly number[]): unknown[] {
  if (!Array.isArray(data)) throw invalidArgument(field, 'must be an array');
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= shape.length || v.length !== shape[depth]) throw invalidArgument(field, `nested array does not match shape [${shape.join(', ')}]`);
      for (const x of v) walk(x, depth + 1);
    } else {
      if (depth !== shape.length) throw invalidArgument(field, `nested array does not match shape [${shape.join(', ')}]`);
      out.push(v);
    }
  };
  walk(data, 0);
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    if ((mant >> (shift - 1)) & 1) half += 1;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  if (mant & 0x1000) half += 1;
  return half;
}

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/*
 * BYTES elements. onnxruntime-node (1.30) takes string tensors as JS strings and hands ONNX Runtime
 * their UTF-8 bytes as C strings: an element is cut at its first NUL, and a lone UTF-16 surrogate
 * becomes U+FFFD (EF BF BD). So the graph can only receive valid UTF-8 without NUL bytes — every such
 * element reaches it exactly and comes back exactly (outputs keep NUL bytes) — and anything else is
 * refused here, naming the element, instead of being silently altered.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keeps a leading BOM: it is part of the element
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CANNOT_CARRY = 'which ONNX Runtime string tensors cannot carry';

/** Offset of the first byte that does not start a well-formed UTF-8 sequence, or -1 if all are well formed. */
export function invalidUtf8Offset(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n >= b.length) return i; // not a lead byte, or cut short
    // second byte ranges exclude overlong forms, UTF-16 surrogates and code points above U+10FFFF
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    if (b[i + 1] < lo || b[i + 1] > hi) return i;
    for (let k = 2; k <= n; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += n + 1;
  }
  return -1;
}

/** A BYTES element received as bytes (binary extension, gRPC), as the string ONNX Runtime gets; refuses NUL bytes and invalid UTF-8. */
export function bytesElement(field: string, bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw invalidArgument(field, `contains a NUL byte (byte ${nul}), ${CANNOT_CARRY}`);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalidArgument(field, `is not valid UTF-8 (byte ${invalidUtf8Offset(bytes)}), ${CANNOT_CARRY} (onnxruntime-node passes them as UTF-8 text)`);
  }
}

/** A BYTES element received as a JSON string; refuses NUL characters and lone UTF-16 surrogates (not text). */
export function textElement(field: string, text: string): string {
  const nul = text.indexOf('\0');
  if (nul >= 0) throw invalidArgument(field, `contains a NUL character (character ${nul}), ${CANNOT_CARRY}`);
  const lone = LONE_SURROGATE.exec(text);
  if (lone)
    throw invalidArgument(field, `contains a lone UTF-16 surrogate (\\u${lone[0].charCodeAt(0).toString(16)} at character ${lone.index}), which is not text and has no UTF-8 form`);
  return text;
}

/** Builds a tensor from JSON `data` (flat or nested row-major). */
export function tensorFromJson(field: string, datatype: KServeDatatype, shape: number[], data: unknown): Tensor {
  const values = flatten(field, data, shape);
  const n = elementCount(shape);
  if (values.length !== n) throw invalidArgument(field, `has ${values.length} elements but shape [${shape.join(', ')}] needs ${n}`);
  const bad = (i: number, what: string) => invalidArgument(`${field}[${i}]`, `must be ${what} for datatype ${datatype}`);
  const type = KSERVE_TO_ORT[datatype];
  switch (datatype) {
    case 'BYTES':
      return new Tensor(
        'string',
        values.map((v, i) => {
          if (typeof v !== 'string') throw bad(i, 'a string');
          return textElement(`${field}[${i}]`, v);
        }),
        shape,
      );
    case 'BOOL':
      return new Tensor(
        'bool',
        Uint8Array.from(values, (v, i) => {
          if (typeof v !== 'boolean') throw bad(i, 'true or false');
          return v ? 1 : 0;
        }),
        shape,
      );
    case 'INT64':
    case 'UINT64': {
      const arr = datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      const min = datatype === 'INT64' ? -(2n ** 63n) : 0n;
      const max = datatype === 'INT64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        // A plain loop: BigInt64Array.from(values, BigInt) is ten times slower on small tensors.
        if (typeof v === 'number' && Number.isSafeInteger(v) && (v >= 0 || datatype === 'INT64')) arr[i] = BigInt(v);
        else if (typeof v === 'string' && /^-?\d+$/.test(v) && BigInt(v) >= min && BigInt(v) <= max) arr[i] = BigInt(v);
        else throw bad(i, 'an integer in range');
      }
      return new Tensor(type, arr, shape);
    }
    case 'FP16':
    case 'FP32':
    case 'FP64': {
      const nums = values.map((v, i) => {
        if (typeof v !== 'number') throw bad(i, 'a number');
        return v;
      });
      if (datatype === 'FP16') return new Tensor('float16', Uint16Array.from(nums, floatToHalf), shape);
      return datatype === 'FP32' ? new Tensor('float32', Float32Array.from(nums), shape) : new Tensor('float64', Float64Array.from(nums), shape);
    }
    default: {
      const [lo, hi] = INT_RANGE[datatype] ?? [0, 0];
      const nums = values.map((v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(i, `an integer in [${lo}, ${hi}]`);
        return v;
      });
      const ctor = { UINT8: Uint8Array, INT8: Int8Array, UINT16: Uint16Array, INT16: Int16Array, UINT32: Uint32Array, INT32: Int32Array }[datatype];
      return new Tensor(type, ctor.from(nums), shape);
    }
  }
}

/** The elements of a raw BYTES tensor (4-byte little-endian length + bytes per element), as many as `shape` holds. */
export function bytesElementsFromRaw(field: string, shape: number[], raw: Uint8Array): Uint8Array[] {
  const n = elementCount(shape);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const elements: Uint8Array[] = [];
  let off = 0;
  while (off < raw.byteLength) {
    if (off + 4 > raw.byteLength) throw invalidArgument(field, 'BYTES element is missing its 4-byte length');
    const len = view.getUint32(off, true);
    off += 4;
    if (off + len > raw.byteLength) throw invalidArgument(field, `BYTES element ${elements.length} declares ${len} bytes but the data ends early`);
    elements.push(raw.subarray(off, off + len));
    off += len;
  }
  if (elements.length !== n) throw invalidArgument(field, `has ${elements.length} BYTES elements but shape [${shape.join(', ')}] needs ${n}`);
  return elements;
}

/** Builds a tensor from raw little-endian bytes (BYTES: 4-byte length + bytes per element). */
export function tensorFromRaw(field: string, datatype: KServeDatatype, shape: number[], raw: Uint8Array): Tensor {
  const n = elementCount(shape);
  if (datatype === 'BYTES') {
    const strings = bytesElementsFromRaw(field, shape, raw).map((b, i) => bytesElement(`${field}[${i}]`, b));
    return new Tensor('string', strings, shape);
  }
  const size = ELEMENT_BYTES[datatype];
  if (raw.byteLength !== n * size) throw invalidArgument(field, `has ${raw.byteLength} bytes but shape [${shape.join(', ')}] of ${datatype} needs ${n * size}`);
  const copy = new Uint8Array(raw).buffer; // an aligned copy (Buffer.slice would share a pooled buffer)
  const ctor = {
    BOOL: Uint8Array,
    UINT8: Uint8Array,
    INT8: Int8Array,
    UINT16: Uint16Array,
    INT16: Int16Array,
    FP16: Uint16Array,
    UINT32: Uint32Array,
    INT32: Int32Array,
    FP32: Float32Array,
    UINT64: BigUint64Array,
    INT64: BigInt64Array,
    FP64: Float64Array,
  }[datatype];
  return new Tensor(KSERVE_TO_ORT[datatype], new ctor(copy) as never, shape);
}

/**
 * The JSON text of a tensor's flat values. Finite numeric tensors are joined directly (twice as fast
 * as JSON.stringify of an array copy); anything else goes through tensorToJson.
 */
export function tensorJsonText(t: Tensor): string {
  if (
    t.type === 'float32' ||
    t.type === 'float64' ||
    t.type === 'int32' ||
    t.type === 'int16' ||
    t.type === 'int8' ||
    t.type === 'uint8' ||
    t.type === 'uint16' ||
    t.type === 'uint32'
  ) {
    const data = t.data as Float32Array;
    let finite = true;
    for (let i = 0; i < data.length && finite; i++) finite = Number.isFinite(data[i]);
    if (finite) return `[${Array.prototype.join.call(data, ',')}]`;
  }
  return JSON.stringify(tensorToJson(t));
}

/** True if a floating-point tensor holds NaN or ±Infinity, which JSON cannot write (they become null). */
export function hasNonFinite(t: Tensor): boolean {
  if (t.type === 'float16') return (t.data as Uint16Array).some((h) => (h & 0x7c00) === 0x7c00);
  if (t.type !== 'float32' && t.type !== 'float64') return false;
  const data = t.data as Float32Array;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return true;
  return false;
}

/** Flat JSON values of a tensor (INT64 as numbers, FP16 decoded, BOOL as booleans; NaN and ±Infinity become null). */
export function tensorToJson(t: Tensor): unknown[] {
  const data = t.data;
  switch (t.type) {
    case 'bool':
      return Array.from(data as Uint8Array, (v) => v !== 0);
    case 'float16':
      return Array.from(data as Uint16Array, halfToFloat);
    case 'int64':
    case 'uint64':
      return Array.from(data as BigInt64Array, (v) => Number(v));
    case 'string':
      return [...(data as string[])];
    default:
      return Array.from(data as Float32Array);
  }
}

/** Raw little-endian bytes of a tensor (BYTES: 4-byte length + bytes per element). */
export function tensorToRaw(t: Tensor): Uint8Array {
  if (t.type === 'string') return encodeBytesElements(t.data as string[]);
  const data = t.data as ArrayBufferView;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
