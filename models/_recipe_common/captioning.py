"""What the captioning recipes (models/caption, models/video_caption) share: padding a batch of token
lists, and greedy decoding of an encoder + attention-decoder-step model (each step's argmax fed back,
per sequence until EOS), optionally with the attention of each emitted token."""
import math
import os

import torch

from _recipe_common.export import MethodGraph


def pad(seqs, pad_id):
    """Token lists → a [batch, longest] LongTensor, padded with `pad_id`."""
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [pad_id] * (n - len(s)) for s in seqs], dtype=torch.long)


def greedy(model, inputs, to_input, decode, bos, eos, max_len, batch, want_attention=False):
    """Captions of `inputs` (a numpy batch) by `model.encode(to_input(x))` → (memory, keys, h, c) and
    `model.step(prev, h, c, memory, keys)` → (log-probs, h, c, attention); `decode(ids, model.vocab)`
    turns token ids into text. Leaves the model in training mode."""
    model.eval()
    captions, attentions = [], []
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            memory, keys, h, c = model.encode(to_input(inputs[i:i + batch]))
            n = memory.shape[0]
            prev = torch.full((n,), bos, dtype=torch.long)
            ids = [[] for _ in range(n)]
            att = [[] for _ in range(n)]
            done = [False] * n
            for _ in range(max_len):
                logp, h, c, a = model.step(prev, h, c, memory, keys)
                prev = logp.argmax(-1)
                for j, t in enumerate(prev.tolist()):
                    if done[j]:
                        continue
                    if t == eos:
                        done[j] = True
                    else:
                        ids[j].append(t)
                        att[j].append(a[j].numpy())
                if all(done):
                    break
            captions.extend(decode(x, model.vocab) for x in ids)
            attentions.extend(att)
    model.train()
    return (captions, attentions) if want_attention else captions


def export_encoder_decoder(model, example, input_name, out, bos):
    """Writes `out`/encoder.onnx (`input_name` → memory, keys, h0, c0) and `out`/decoder.onnx (one
    attention step: prev_token, h_in, c_in, memory, keys → logits, h_out, c_out, attention), opset 17,
    batch axes dynamic, as the generation engine serves them. torch.onnx.export puts the wrapper (a
    new module, in training mode) back in its own mode afterwards, and with it the model: eval() again
    after each export, or batch norm would move its running statistics on the next forward pass (the
    PyTorch model measured after export would no longer be the exported one)."""
    model.eval()
    torch.onnx.export(MethodGraph(model, "encode"), (example,), os.path.join(out, "encoder.onnx"), opset_version=17,
                      input_names=[input_name], output_names=["memory", "keys", "h0", "c0"],
                      dynamic_axes={input_name: {0: "batch"}, "memory": {0: "batch"}, "keys": {0: "batch"},
                                    "h0": {1: "batch"}, "c0": {1: "batch"}})
    model.eval()
    with torch.no_grad():
        memory, keys, h0, c0 = model.encode(example)
    prev = torch.tensor([bos], dtype=torch.long)
    torch.onnx.export(MethodGraph(model, "step"), (prev, h0, c0, memory, keys), os.path.join(out, "decoder.onnx"),
                      opset_version=17, input_names=["prev_token", "h_in", "c_in", "memory", "keys"],
                      output_names=["logits", "h_out", "c_out", "attention"],
                      dynamic_axes={"prev_token": {0: "batch"}, "h_in": {1: "batch"}, "c_in": {1: "batch"},
                                    "memory": {0: "batch"}, "keys": {0: "batch"}, "logits": {0: "batch"},
                                    "h_out": {1: "batch"}, "c_out": {1: "batch"}, "attention": {0: "batch"}})
    model.eval()


class AttentionDecoder:
    """The decoder half both captioners share (a mixin over nn.Module): an LSTM over the previous
    word's class embedding (`lstm`, `embed`, `word_class`), scaled dot-product attention of its output
    (`query`) over the encoder's `keys`, and `out` over [output; context]. The model's `encode` gives
    (memory, keys, h0, c0)."""

    def attend(self, y, memory, keys):
        """Decoder outputs y [B, T, H] → log-probabilities [B, T, V] and attention [B, T, positions]."""
        scores = torch.bmm(self.query(y), keys.transpose(1, 2)) / math.sqrt(keys.shape[2])
        attention = torch.softmax(scores, -1)
        context = torch.bmm(attention, memory)
        logits = self.out(self.drop(torch.cat([y, context], 2)))
        return torch.log_softmax(logits, -1), attention

    def step(self, prev, h, c, memory, keys):
        y, (h, c) = self.lstm(self.embed(self.word_class[prev]).unsqueeze(0), (h, c))
        logp, attention = self.attend(y.transpose(0, 1), memory, keys)
        return logp[:, 0], h, c, attention[:, 0]

    def forward(self, source, prev):
        memory, keys, h, c = self.encode(source)
        y, _ = self.lstm(self.drop(self.embed(self.word_class[prev])).transpose(0, 1), (h, c))
        return self.attend(y.transpose(0, 1), memory, keys)[0]
