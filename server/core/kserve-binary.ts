/**
 * Wire pieces of the KServe binary tensor extension shared by the server and the clients:
 * BYTES elements as 4-byte little-endian length + bytes, and bodies made of a JSON header followed
 * by raw tensors.
 */
const encoder = new TextEncoder();

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export function encodeBytesElements(values: readonly string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of values) {
    const bytes = encoder.encode(s);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.byteLength, true);
    parts.push(len, bytes);
  }
  return concatBytes(parts);
}

/** A body of the binary extension: the JSON header, then the blobs; returns the header length too. */
export function binaryBody(header: object, blobs: readonly Uint8Array[]): { body: Uint8Array<ArrayBuffer>; headerLength: number } {
  const head = encoder.encode(JSON.stringify(header));
  return { body: concatBytes([head, ...blobs]) as Uint8Array<ArrayBuffer>, headerLength: head.byteLength };
}
