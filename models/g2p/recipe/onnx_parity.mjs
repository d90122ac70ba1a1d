// ONNX Runtime side of the recipe's parity check: node onnx_parity.mjs REQUEST.json
// REQUEST: {model: folder, letters: [[id, ...], ...], bos, eos, maxNew}. Runs encoder.onnx once on
// the words as one right-padded batch, then decoder.onnx greedily for all of them together (the way
// seqserve batches sequences), and prints {version, greedy: [[id, ...]], firstLogits: [[...]]}.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const req = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const opts = { intraOpNumThreads: 1, interOpNumThreads: 1 };
const encoder = await ort.InferenceSession.create(path.join(req.model, 'encoder.onnx'), opts);
const decoder = await ort.InferenceSession.create(path.join(req.model, 'decoder.onnx'), opts);

const B = req.letters.length;
const S = Math.max(1, ...req.letters.map((w) => w.length));
const ids = new BigInt64Array(B * S);
req.letters.forEach((w, b) => w.forEach((t, s) => (ids[b * S + s] = BigInt(t))));
const enc = await encoder.run({ letters: new ort.Tensor('int64', ids, [B, S]) });

let h = enc.h0;
let prev = new ort.Tensor('int64', new BigInt64Array(B).fill(BigInt(req.bos)), [B]);
const greedy = req.letters.map(() => []);
const done = new Array(B).fill(false);
let firstLogits;
for (let t = 0; t < req.maxNew && done.includes(false); t++) {
  const out = await decoder.run({ prev_token: prev, h_in: h, keys: enc.keys, values: enc.values, src_mask: enc.src_mask });
  const V = out.logits.dims[1];
  const logits = out.logits.data;
  if (t === 0) firstLogits = req.letters.map((_, b) => Array.from(logits.subarray(b * V, (b + 1) * V)));
  const next = new BigInt64Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[b * V + v] > logits[b * V + best]) best = v;
    next[b] = BigInt(best);
    if (!done[b]) {
      if (best === req.eos) done[b] = true;
      else greedy[b].push(best);
    }
  }
  prev = new ort.Tensor('int64', next, [B]);
  h = out.h_out;
}
const version = JSON.parse(readFileSync(new URL('../../../node_modules/onnxruntime-node/package.json', import.meta.url), 'utf8')).version;
process.stdout.write(JSON.stringify({ version, greedy, firstLogits }));
