import { encodeBytesElements } from '../../server/core/kserve-binary.ts';

/** Tensors as clients see them: a name, a KServe datatype, a shape and flat data. */
export type TensorData = number[] | boolean[] | string[] | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface ClientTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: TensorData;
}

const TYPED: Record<string, { bytes: number; read: (v: DataView, o: number) => number | bigint | boolean }> = {
  BOOL: { bytes: 1, read: (v, o) => v.getUint8(o) !== 0 },
  UINT8: { bytes: 1, read: (v, o) => v.getUint8(o) },
  INT8: { bytes: 1, read: (v, o) => v.getInt8(o) },
  UINT16: { bytes: 2, read: (v, o) => v.getUint16(o, true) },
  INT16: { bytes: 2, read: (v, o) => v.getInt16(o, true) },
  UINT32: { bytes: 4, read: (v, o) => v.getUint32(o, true) },
  INT32: { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  FP32: { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  UINT64: { bytes: 8, read: (v, o) => Number(v.getBigUint64(o, true)) },
  INT64: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  FP64: { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
};

/** BYTES elements as text; a leading BOM is part of the element (TextDecoder would drop it by default). */
const BYTES_TEXT = new TextDecoder('utf-8', { ignoreBOM: true });

/** Decodes raw little-endian tensor bytes into plain values (BYTES: 4-byte length prefix each). */
export function decodeRaw(datatype: string, raw: Uint8Array): (number | boolean | string)[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    for (let off = 0; off < raw.byteLength;) {
      const len = view.getUint32(off, true);
      out.push(BYTES_TEXT.decode(raw.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    return out;
  }
  const t = TYPED[datatype];
  if (!t) throw new Error(`cannot decode raw ${datatype}`);
  const out: (number | boolean)[] = [];
  for (let off = 0; off < raw.byteLength; off += t.bytes) out.push(t.read(view, off) as number | boolean);
  return out;
}

/** Encodes flat values as raw little-endian bytes for the binary extension / raw_input_contents. */
export function encodeRaw(datatype: string, data: TensorData): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const values = data as (number | boolean | string)[];
  if (datatype === 'BYTES') return encodeBytesElements(values.map(String));
  const t = TYPED[datatype];
  if (!t) throw new Error(`cannot encode raw ${datatype}`);
  const out = new Uint8Array(values.length * t.bytes);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    const o = i * t.bytes;
    const n = Number(v);
    switch (datatype) {
      case 'BOOL':
      case 'UINT8':
        view.setUint8(o, n);
        break;
      case 'INT8':
        view.setInt8(o, n);
        break;
      case 'UINT16':
        view.setUint16(o, n, true);
        break;
      case 'INT16':
        view.setInt16(o, n, true);
        break;
      case 'UINT32':
        view.setUint32(o, n, true);
        break;
      case 'INT32':
        view.setInt32(o, n, true);
        break;
      case 'FP32':
        view.setFloat32(o, n, true);
        break;
      case 'FP64':
        view.setFloat64(o, n, true);
        break;
      case 'UINT64':
        view.setBigUint64(o, BigInt(n), true);
        break;
      default:
        view.setBigInt64(o, BigInt(n), true);
    }
  });
  return out;
}

export function toPlain(data: TensorData): (number | boolean | string)[] {
  if (data instanceof BigInt64Array) return Array.from(data, Number);
  return Array.from(data as ArrayLike<number | boolean | string>);
}
