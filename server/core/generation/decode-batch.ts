/**
 * The rows of a continuous decoding batch, kept in place between iterations: per row, the
 * sequence's encoder memory (padded along the source axis to the longest row) and its decoder
 * state. A step feeds views of these arrays to the decoder graph (no per-step concatenation); a
 * sequence joins by writing its row at the end and leaves by moving the last row into its place.
 */
import { Tensor } from 'onnxruntime-common';
import type { TensorMap } from '../graph-runner.ts';

export interface RowData {
  /** Encoder memory of one sequence, [1, S, ...] each. */
  memory: TensorMap;
  /** Decoder state of one sequence, batch size 1 along its batch axis. */
  states: TensorMap;
}

interface Layout {
  /** Dims of one row, batch dim = 1 (for memory: source dim = the batch's padded length). */
  dims: number[];
  axis: number;
  data: Float32Array;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export class DecodeBatch<Owner> {
  private owners: Owner[] = [];
  private sourceLengths: number[] = [];
  private memory = new Map<string, Layout>();
  private states = new Map<string, Layout>();
  private capacity = 0;
  private padded = 0; // the source length rows are padded to

  constructor(
    private readonly stateAxes: Readonly<Record<string, number>>,
    private readonly initialCapacity = 8,
  ) {}

  get size(): number {
    return this.owners.length;
  }

  owner(row: number): Owner {
    return this.owners[row];
  }

  sourceLength(row: number): number {
    return this.sourceLengths[row];
  }

  /** Appends a row; returns its index. */
  add(owner: Owner, row: RowData): number {
    const S = Object.values(row.memory)[0]?.dims[1] ?? 0;
    if (this.size === 0) {
      this.padded = S;
      this.memory.clear();
      this.states.clear();
      this.capacity = 0;
    }
    if (S > this.padded) this.repad(S);
    if (this.size === this.capacity) this.grow(Math.max(this.initialCapacity, this.capacity * 2), row);
    const r = this.size;
    this.owners.push(owner);
    this.sourceLengths.push(S);
    for (const [name, t] of Object.entries(row.memory)) this.writeMemoryRow(name, r, t);
    for (const [name, t] of Object.entries(row.states)) this.writeStateRow(name, r, t.data as Float32Array);
    return r;
  }

  /** Removes a row by moving the last row into its place; returns the owner that moved (if any) and its new index. */
  remove(row: number): { moved?: Owner; to: number } {
    const last = this.size - 1;
    if (row !== last) {
      for (const layout of this.memory.values()) {
        const n = product(layout.dims);
        layout.data.copyWithin(row * n, last * n, (last + 1) * n);
      }
      for (const [name] of this.states) this.writeStateRow(name, row, this.readStateRow(name, last));
      this.owners[row] = this.owners[last];
      this.sourceLengths[row] = this.sourceLengths[last];
    }
    this.owners.pop();
    this.sourceLengths.pop();
    return row !== last ? { moved: this.owners[row], to: row } : { to: row };
  }

  /** Copies of one row's memory and state (to park a sequence or fork beams). */
  extract(row: number): RowData {
    const memory: TensorMap = {};
    for (const [name, layout] of this.memory) {
      const n = product(layout.dims);
      const S = this.sourceLengths[row];
      const inner = n / this.padded || 0;
      memory[name] = new Tensor('float32', layout.data.slice(row * n, row * n + S * inner), [1, S, ...layout.dims.slice(2)]);
    }
    const states: TensorMap = {};
    for (const [name, layout] of this.states) states[name] = new Tensor('float32', this.readStateRow(name, row), layout.dims);
    return { memory, states };
  }

  /** Sets rows' states from other rows' (beam reordering): `sources[i]` is the row whose state row `targets[i]` takes. */
  reorderStates(targets: readonly number[], sources: readonly number[]): void {
    for (const [name] of this.states) {
      const copies = sources.map((s) => this.readStateRow(name, s));
      targets.forEach((t, i) => this.writeStateRow(name, t, copies[i]));
    }
  }

  /** Feeds for one decoder step over all rows (views where the layout allows). */
  feeds(): TensorMap {
    const n = this.size;
    const out: TensorMap = {};
    for (const [name, layout] of this.memory) out[name] = new Tensor('float32', layout.data.subarray(0, n * product(layout.dims)), [n, ...layout.dims.slice(1)]);
    for (const [name, layout] of this.states) {
      const dims = layout.dims.map((d, i) => (i === layout.axis ? n : d));
      const outer = product(layout.dims.slice(0, layout.axis));
      out[name] = new Tensor('float32', outer === 1 ? layout.data.subarray(0, product(dims)) : this.gather(layout, n), dims);
    }
    return out;
  }

  /** Takes the step's new states (batched over all rows, in row order). */
  updateStates(outputs: Readonly<Record<string, Tensor>>): void {
    for (const [name, layout] of this.states) {
      const t = outputs[name];
      if (!t) continue;
      const outer = product(layout.dims.slice(0, layout.axis));
      const data = t.data as Float32Array;
      if (outer === 1) layout.data.set(data.subarray(0, this.size * product(layout.dims)));
      else for (let r = 0; r < this.size; r++) this.writeStateRow(name, r, this.rowOf(layout, data, r, this.size));
    }
  }

  /** The padded source length of the current feeds. */
  get paddedLength(): number {
    return this.padded;
  }

  private writeMemoryRow(name: string, row: number, t: Tensor): void {
    const layout = this.memory.get(name)!;
    const n = product(layout.dims);
    layout.data.fill(0, row * n, (row + 1) * n);
    layout.data.set(t.data as Float32Array, row * n);
  }

  private rowOf(layout: Layout, data: Float32Array, row: number, rows: number): Float32Array {
    const outer = product(layout.dims.slice(0, layout.axis));
    const inner = product(layout.dims.slice(layout.axis + 1));
    const out = new Float32Array(outer * inner);
    for (let o = 0; o < outer; o++) out.set(data.subarray((o * rows + row) * inner, (o * rows + row + 1) * inner), o * inner);
    return out;
  }

  private readStateRow(name: string, row: number): Float32Array {
    const layout = this.states.get(name)!;
    return this.rowOf(layout, layout.data, row, this.capacity);
  }

  private writeStateRow(name: string, row: number, values: Float32Array): void {
    const layout = this.states.get(name)!;
    const outer = product(layout.dims.slice(0, layout.axis));
    const inner = product(layout.dims.slice(layout.axis + 1));
    for (let o = 0; o < outer; o++) layout.data.set(values.subarray(o * inner, (o + 1) * inner), (o * this.capacity + row) * inner);
  }

  private gather(layout: Layout, n: number): Float32Array {
    const outer = product(layout.dims.slice(0, layout.axis));
    const inner = product(layout.dims.slice(layout.axis + 1));
    const out = new Float32Array(outer * n * inner);
    for (let o = 0; o < outer; o++) out.set(layout.data.subarray(o * this.capacity * inner, (o * this.capacity + n) * inner), o * n * inner);
    return out;
  }

  private grow(capacity: number, sample: RowData): void {
    for (const [name, t] of Object.entries(sample.memory)) {
      const dims = [1, this.padded, ...t.dims.slice(2)];
      const old = this.memory.get(name);
      const data = new Float32Array(capacity * product(dims));
      if (old) data.set(old.data.subarray(0, this.size * product(dims)));
      this.memory.set(name, { dims, axis: 0, data });
    }
    for (const [name, t] of Object.entries(sample.states)) {
      const axis = this.stateAxes[name] ?? 0;
      const old = this.states.get(name);
      const dims = [...t.dims];
      const outer = product(dims.slice(0, axis));
      const inner = product(dims.slice(axis + 1));
      const data = new Float32Array(outer * capacity * inner);
      if (old) for (let o = 0; o < outer; o++) data.set(old.data.subarray(o * this.capacity * inner, (o * this.capacity + this.size) * inner), o * capacity * inner);
      this.states.set(name, { dims, axis, data });
    }
    this.capacity = capacity;
  }

  private repad(S: number): void {
    for (const layout of this.memory.values()) {
      const oldRow = product(layout.dims);
      const inner = oldRow / this.padded || 0;
      const dims = [1, S, ...layout.dims.slice(2)];
      const data = new Float32Array(this.capacity * product(dims));
      for (let r = 0; r < this.size; r++) data.set(layout.data.subarray(r * oldRow, (r + 1) * oldRow), r * S * inner);
      layout.dims = dims;
      layout.data = data;
    }
    this.padded = S;
  }
}
