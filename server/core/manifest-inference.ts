/**
 * Auto-configuration (Triton's auto-complete config): the manifest of a model folder that holds
 * only ONNX files, inferred from the graphs' own signatures — a `generic` model with one graph per
 * file, its inputs and outputs (names, datatypes, fixed and variable axes), and the recurrent state
 * pairs that are unambiguous. Whatever cannot be told from the graph is left out (and said, in
 * `notes`), so the server's defaults apply: a guess that is wrong would serve wrong answers.
 *
 * States: an input and an output pair up when their names say so (`h_in`/`h_out`, `prev_h`/`next_h`,
 * `past_x`/`present_x`, `h0`/`hn`, `state`/`next_state`, ...), each name pairs with exactly one, they
 * have one element type and one shape (fixed lengths equal, variable axes in the same places), and
 * the axis sequences are stacked along is clear: the only variable axis, or the one named like the
 * batch dimension of the graph's other inputs. Anything else is left out with the reason.
 *
 * Dynamic batching: the server batches a stateless graph whose inputs and outputs all have a
 * variable axis 0; an inferred manifest keeps that only where axis 0 is named like a batch
 * (`batch`, `N`, `B`); a graph whose axis 0 is named otherwise (`time`, `x_dynamic_axes_1`) may be
 * time-major, so it gets `dynamicBatching.enabled: false` and a note.
 *
 * Runtime-agnostic: the caller reads the graphs' signatures (on the server through the session
 * factory, server/runtime/manifest-inference-folder.ts).
 */
import { signatureFromMetadata, type InputSignature, type ValueMetadataLike } from './feed-check.ts';
import { tensorSpecOf, type TensorSpec } from './graph-signature.ts';
import { parseManifest, TASK_ROLES, type Manifest, type StateSpec } from './manifest.ts';

/** One ONNX file of the folder and its graph's signature as ONNX Runtime reads it. */
export interface DescribedGraph {
  /** The file, relative to the model folder (`model.onnx`, `1/model.onnx`). */
  file: string;
  inputs: readonly ValueMetadataLike[];
  outputs: readonly ValueMetadataLike[];
}

export interface InferredManifest {
  /** The manifest as JSON (what `seqserve init` writes, what KServe metadata reports): it parses as it is. */
  manifest: InferredManifestJson;
  /** What was inferred and what to check, one sentence each. */
  notes: string[];
}

export interface InferredGraphJson {
  file: string;
  role: string;
  states?: StateSpec[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  dynamicBatching?: { enabled: false };
}

export interface InferredManifestJson {
  $schema?: string;
  name: string;
  version: string;
  task: 'generic';
  description: string;
  graphs: Record<string, InferredGraphJson>;
}

/** The graph name of a file: its base name without `.onnx`, lower case, other characters as "_"; undefined if nothing is left. */
export function graphNameOf(file: string): string | undefined {
  const base = (file.split('/').pop() ?? file).replace(/\.onnx$/i, '');
  const name = base
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return name || undefined;
}

/** Input and output affixes that mark the two ends of a recurrent state, by kind (in ↔ out). */
const STATE_AFFIXES: { input: string[]; output: string[] }[] = [
  { input: ['in'], output: ['out'] },
  { input: ['prev', 'previous', 'last'], output: ['next'] },
  { input: ['past'], output: ['present'] },
  { input: ['old'], output: ['new'] },
  { input: ['0'], output: ['n'] },
];

/**
 * The bases a name has for each affix kind it carries: `h_in`, `in_h`, `h.in`, and without a
 * separator only after a short base (`hin`, `h0`, `hn`, `cx0`): `input_ids` / `output_ids` or
 * `attention` are no state names.
 */
function bases(name: string, side: 'input' | 'output'): { kind: number; base: string }[] {
  const lower = name.toLowerCase();
  const out: { kind: number; base: string }[] = [];
  STATE_AFFIXES.forEach((affixes, kind) => {
    for (const a of affixes[side]) {
      const separated = new RegExp(`^(.+)[_.:/-]${a}$`).exec(lower) ?? new RegExp(`^([a-z]{1,2})${a}$`).exec(lower);
      if (separated) out.push({ kind, base: separated[1] });
      const prefix = /^[a-z]/.test(a) ? new RegExp(`^${a}[_.:/-](.+)$`).exec(lower) : null;
      if (prefix) out.push({ kind, base: prefix[1] });
    }
  });
  // `state` -> `next_state` / `new_state`: an input without an affix, an output that says "next" or "new"
  if (side === 'input') out.push({ kind: -1, base: lower });
  return out;
}

function namesPair(input: string, output: string): boolean {
  const outs = bases(output, 'output');
  return bases(input, 'input').some((i) => outs.some((o) => o.base === i.base && i.base.length > 0 && (i.kind === o.kind || (i.kind === -1 && (o.kind === 1 || o.kind === 3)))));
}

const BATCH_NAME = /batch|^(n|b|bs|bsz|batch_size)$/i;

const variableAxes = (t: InputSignature) => t.shape.flatMap((d, axis) => (d < 0 ? [axis] : []));

/**
 * The state pairs of one graph that are unambiguous, and why each other candidate was left out.
 */
export function inferStates(inputs: readonly InputSignature[], outputs: readonly InputSignature[]): { states: StateSpec[]; notes: string[] } {
  const notes: string[] = [];
  const candidates = inputs.flatMap((i) => outputs.filter((o) => namesPair(i.name, o.name)).map((o) => ({ input: i, output: o })));
  // the batch dimension's name, from the inputs that are not state candidates: their axis 0 if they agree, else a batch-like name
  const stateInputs = new Set(candidates.map((c) => c.input.name));
  const others = inputs.filter((i) => !stateInputs.has(i.name));
  const axis0 = new Set(others.map((i) => (i.shape[0] !== undefined && i.shape[0] < 0 ? i.dimNames?.[0] : undefined)));
  const sharedAxis0 = axis0.size === 1 ? [...axis0][0] : undefined;
  const states: StateSpec[] = [];
  for (const { input, output } of candidates) {
    const pair = `${input.name} -> ${output.name}`;
    const rivals = candidates.filter((c) => (c.input === input) !== (c.output === output));
    if (rivals.length) {
      notes.push(`${pair}: not a state: ${[...new Set(rivals.map((c) => `${c.input.name} -> ${c.output.name}`))].join(', ')} pair(s) too, so the pairing is ambiguous`);
      continue;
    }
    if (input.type !== output.type) {
      notes.push(`${pair}: not a state: ${input.type} in, ${output.type} out`);
      continue;
    }
    const sameShape = input.shape.length === output.shape.length && input.shape.every((d, axis) => (d >= 0 ? output.shape[axis] === d : (output.shape[axis] ?? 0) < 0));
    if (!sameShape) {
      notes.push(`${pair}: not a state: shapes differ ([${shapeText(input)}] in, [${shapeText(output)}] out)`);
      continue;
    }
    const axes = variableAxes(input);
    let batchAxis: number | undefined;
    if (axes.length === 1) batchAxis = axes[0];
    else if (axes.length > 1) {
      const named = axes.filter((a) => {
        const n = input.dimNames?.[a];
        return n !== undefined && (n === sharedAxis0 || (sharedAxis0 === undefined && BATCH_NAME.test(n)));
      });
      if (named.length === 1) batchAxis = named[0];
    }
    if (batchAxis === undefined) {
      notes.push(
        axes.length === 0
          ? `${pair}: looks like a recurrent state, left out: its shape [${shapeText(input)}] has no variable axis to stack sequences along (exported with a fixed batch?); clients feed it back themselves, or add it to states with its batchAxis`
          : `${pair}: looks like a recurrent state, left out: which of its variable axes (${axes.join(', ')}) is the batch is not clear from the names; add it to states with its batchAxis`,
      );
      continue;
    }
    states.push({ input: input.name, output: output.name, batchAxis });
    notes.push(`${pair}: recurrent state, stacked along axis ${batchAxis}${input.dimNames?.[batchAxis] ? ` ("${input.dimNames[batchAxis]}")` : ''}`);
  }
  return { states, notes };
}

function shapeText(t: InputSignature): string {
  return t.shape.map((d, axis) => (d >= 0 ? String(d) : (t.dimNames?.[axis] ?? '?'))).join(', ');
}

/**
 * The manifest of model `name` whose folder holds the ONNX files `graphs` (one graph each, named
 * from the file). Throws with the reason if a graph cannot be served (a tensor KServe cannot carry,
 * two files with one graph name). The result passes the manifest schema (checked here).
 */
export function inferManifest(name: string, graphs: readonly DescribedGraph[], options: { version?: string } = {}): InferredManifest {
  const notes: string[] = [];
  const out: Record<string, InferredGraphJson> = {};
  const fileOf = new Map<string, string>();
  const roles = TASK_ROLES.generic;
  for (const g of graphs) {
    const graph = graphNameOf(g.file);
    if (!graph) throw new Error(`${g.file}: no graph name can be made of the file's name (lower-case letters, digits and "_"); rename the file`);
    const twin = fileOf.get(graph);
    if (twin) throw new Error(`${twin} and ${g.file} would both be graph "${graph}"; rename one of them`);
    fileOf.set(graph, g.file);
    for (const m of [...g.inputs, ...g.outputs]) if (!m.isTensor) throw new Error(`${g.file}: "${m.name}" is not a tensor (a sequence or map): KServe carries tensors only`);
    const inputs = signatureFromMetadata(g.inputs);
    const outputs = signatureFromMetadata(g.outputs);
    const declared = (list: InputSignature[]) =>
      list.map((t) => {
        try {
          return tensorSpecOf(t);
        } catch {
          throw new Error(`${g.file}: "${t.name}" is ${t.type}, which has no KServe datatype`);
        }
      });
    const { states, notes: stateNotes } = inferStates(inputs, outputs);
    const role = states.length ? 'step' : roles.includes(graph) ? graph : 'model';
    const spec: InferredGraphJson = { file: g.file, role, ...(states.length ? { states } : {}), inputs: declared(inputs), outputs: declared(outputs) };
    notes.push(...stateNotes.map((n) => `${graph}: ${n}`));
    // dynamic batching: the server's default batches along a variable axis 0; keep it only where axis 0 is named like a batch
    const all = [...inputs, ...outputs];
    const axis0 = all.every((t) => t.shape.length > 0 && t.shape[0] < 0) ? [...new Set(all.map((t) => t.dimNames?.[0] ?? '(unnamed)'))] : [];
    if (!states.length && inputs.length && axis0.length) {
      if (axis0.every((n) => BATCH_NAME.test(n))) notes.push(`${graph}: concurrent requests are batched along axis 0 ("${axis0.join('", "')}")`);
      else {
        spec.dynamicBatching = { enabled: false };
        notes.push(
          `${graph}: dynamic batching off: axis 0 of every tensor varies but is named ${axis0.map((n) => `"${n}"`).join(', ')}, not like a batch (a time-major graph must not be stacked along it); if axis 0 is the batch, remove dynamicBatching`,
        );
      }
    }
    const variable = inputs.filter((t) => t.shape.some((d) => d < 0)).map((t) => `${t.name} [${shapeText(t)}]`);
    if (variable.length)
      notes.push(
        `${graph}: variable input axes (${variable.join(', ')}) are held to the server's --max-axis-length unless graphs.${graph}.maxShapes bounds them; the warm-up run feeds 1 for each (graphs.${graph}.warmupShapes if the graph needs more)`,
      );
    if (role === 'model') notes.push(`${graph}: role "model"; name what the graph does if another generic role fits (${roles.join(', ')})`);
    out[graph] = spec;
  }
  if (!graphs.length) throw new Error('no ONNX graph to infer a manifest from');
  const manifest: InferredManifestJson = {
    name,
    version: options.version ?? '1',
    task: 'generic',
    description: `inferred by seqserve from ${graphs.map((g) => g.file).join(', ')}`,
    graphs: out,
  };
  parseManifest(manifest); // the inference's own mistakes must not reach a server
  return { manifest, notes };
}

/** The parsed manifest of an inference (defaults filled in, as the repository serves it). */
export function inferredManifest(inferred: InferredManifest): Manifest {
  return parseManifest(inferred.manifest);
}
