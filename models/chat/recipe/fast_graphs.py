"""Rewrites the exported encoder and decoder-step graphs into an equivalent pair that costs less per
decoder step (same function, same weights; outputs equal to float rounding).

What the plain export does on every step for every row, and what the rewrite does instead:
- The attention context (a weighted sum of 640-wide memory vectors) feeds only two linear maps
  (the combine layer and the copy gate), so those maps are applied once per source position in
  the encoder: the decoder reads 257-wide projected memory (`context_proj`) instead of 640-wide
  `memory`, and its combine layer shrinks from 896x256 to 256x256.
- The copy distribution was a [S, V] one-hot matrix built and multiplied every step; it is now a
  ScatterElements add of the attention weights into the vocabulary row (opset 16+).
Measured with onnxruntime-node 1.30 (one thread, 40 source tokens): see the model card.

Run by train.py after export; alone: /usr/bin/python3 models/chat/recipe/fast_graphs.py DIR
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _init(graph, name):
    for i in graph.initializer:
        if i.name == name:
            return numpy_helper.to_array(i)
    raise KeyError(name)


def _matmul_weight(graph, out_name):
    """The weight initializer of the MatMul node that writes `out_name`."""
    node = next(n for n in graph.node if n.output[0] == out_name)
    return _init(graph, node.input[1])


def rewrite(encoder_path, decoder_path):
    enc = onnx.load(encoder_path)
    dec = onnx.load(decoder_path)
    g = dec.graph
    hidden = _init(g, "m.combine.bias").shape[0]
    w_combine = _matmul_weight(g, "/combine/MatMul_output_0")  # [hidden + memory_dim, hidden]
    w_gate = _matmul_weight(g, "/gate/MatMul_output_0")        # [hidden + memory_dim + emb, 1]
    w_out = _matmul_weight(g, "/out/MatMul_output_0")          # [hidden, vocab]
    memory_dim = w_combine.shape[0] - hidden
    vocab = w_out.shape[1]
    eps = next(numpy_helper.to_array(n.attribute[0].t) for n in g.node if n.output[0] == "/Constant_7_output_0")

    # encoder: context_proj = memory @ [combine's context rows | gate's context rows]
    proj = np.concatenate([w_combine[hidden:], w_gate[hidden:hidden + memory_dim]], 1).astype(np.float32)
    eg = enc.graph
    eg.initializer.append(numpy_helper.from_array(proj, "fast.context_proj.weight"))
    eg.node.append(helper.make_node("MatMul", ["memory", "fast.context_proj.weight"], ["context_proj"], name="/fast/context_proj"))
    memory_out = next(o for o in eg.output if o.name == "memory")
    kept = [o for o in eg.output if o.name != "memory"]
    del eg.output[:]
    eg.output.extend([helper.make_tensor_value_info("context_proj", TensorProto.FLOAT, [memory_out.type.tensor_type.shape.dim[0].dim_param or "batch",
                                                                                          memory_out.type.tensor_type.shape.dim[1].dim_param or "source", proj.shape[1]])] + kept)

    # decoder: keep everything up to the attention softmax (embedding, GRU, query, scores, mask)
    keep_until = next(i for i, n in enumerate(g.node) if n.name == "/Softmax")
    nodes = list(g.node[:keep_until + 1])
    attn, h, emb = "/Softmax_output_0", "/decoder/Transpose_1_output_0", "/Unsqueeze_output_0"
    used = {i for n in nodes for i in n.input}
    inits = [i for i in g.initializer if i.name in used]
    add_init = lambda name, arr: inits.append(numpy_helper.from_array(np.asarray(arr), name))  # noqa: E731
    add_init("fast.combine_h.weight", w_combine[:hidden].astype(np.float32))
    add_init("fast.combine.bias", _init(g, "m.combine.bias"))
    add_init("fast.gate_state.weight", w_gate[:hidden].astype(np.float32))
    add_init("fast.gate_emb.weight", w_gate[hidden + memory_dim:].astype(np.float32))
    add_init("fast.gate.bias", _init(g, "m.gate.bias"))
    add_init("fast.out.weight", w_out.astype(np.float32))
    add_init("fast.out.bias", _init(g, "m.out.bias"))
    add_init("fast.eps", eps.astype(np.float32))
    add_init("fast.one", np.array(1.0, dtype=np.float32))
    add_init("fast.axis1", np.array([1], dtype=np.int64))
    add_init("fast.ctx_c.start", np.array([0], dtype=np.int64))
    add_init("fast.ctx_c.end", np.array([hidden], dtype=np.int64))
    add_init("fast.ctx_g.end", np.array([hidden + 1], dtype=np.int64))
    add_init("fast.slice_axis", np.array([2], dtype=np.int64))
    add_init("fast.vocab", np.array([vocab], dtype=np.int64))
    add_init("fast.zero_i", np.array([0], dtype=np.int64))
    N = helper.make_node
    nodes += [
        N("MatMul", [attn, "context_proj"], ["ctx"]),                                   # [B, 1, hidden + 1]
        N("Slice", ["ctx", "fast.ctx_c.start", "fast.ctx_c.end", "fast.slice_axis"], ["ctx_c"]),
        N("Slice", ["ctx", "fast.ctx_c.end", "fast.ctx_g.end", "fast.slice_axis"], ["ctx_g"]),
        N("MatMul", [h, "fast.combine_h.weight"], ["hc"]),
        N("Add", ["hc", "ctx_c"], ["pre0"]),
        N("Add", ["pre0", "fast.combine.bias"], ["pre"]),
        N("Tanh", ["pre"], ["state"]),
        N("MatMul", ["state", "fast.gate_state.weight"], ["g_state"]),
        N("MatMul", [emb, "fast.gate_emb.weight"], ["g_emb"]),
        N("Add", ["g_state", "g_emb"], ["g0"]),
        N("Add", ["g0", "ctx_g"], ["g1"]),
        N("Add", ["g1", "fast.gate.bias"], ["g2"]),
        N("Sigmoid", ["g2"], ["p_gen3"]),
        N("Squeeze", ["p_gen3", "fast.axis1"], ["p_gen"]),                               # [B, 1]
        N("MatMul", ["state", "fast.out.weight"], ["out0"]),
        N("Add", ["out0", "fast.out.bias"], ["out1"]),
        N("Squeeze", ["out1", "fast.axis1"], ["out2"]),                                  # [B, V]
        N("Softmax", ["out2"], ["vocab_p"], axis=-1),
        N("Squeeze", [attn, "fast.axis1"], ["attention"]),                              # [B, S]
        N("Cast", ["src_ids"], ["src_index"], to=TensorProto.INT64),
        N("Shape", ["attention"], ["attn_shape"]),
        N("Slice", ["attn_shape", "fast.zero_i", "fast.axis1", "fast.zero_i"], ["batch_dim"]),
        N("Concat", ["batch_dim", "fast.vocab"], ["copy_shape"], axis=0),
        N("ConstantOfShape", ["copy_shape"], ["copy_zero"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
        N("ScatterElements", ["copy_zero", "src_index", "attention"], ["copy_p"], axis=1, reduction="add"),
        N("Mul", ["p_gen", "vocab_p"], ["mix_v"]),
        N("Sub", ["fast.one", "p_gen"], ["p_copy"]),
        N("Mul", ["p_copy", "copy_p"], ["mix_c"]),
        N("Add", ["mix_v", "mix_c"], ["mix"]),
        N("Add", ["mix", "fast.eps"], ["mix_eps"]),
        N("Log", ["mix_eps"], ["logits"]),
    ]
    # drop nodes left without consumers (the constants of the replaced output gathers)
    while True:
        consumed = {i for n in nodes for i in n.input} | {o.name for o in g.output}
        unused = [n for n in nodes if not any(o in consumed for o in n.output)]
        if not unused:
            break
        nodes = [n for n in nodes if n not in unused]
    inputs = []
    for i in g.input:
        if i.name == "memory":
            inputs.append(helper.make_tensor_value_info("context_proj", TensorProto.FLOAT, ["batch", "source", hidden + 1]))
        else:
            inputs.append(i)
    graph = helper.make_graph(nodes, g.name, inputs, list(g.output), inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="seqserve fast_graphs.py")
    model.ir_version = dec.ir_version
    onnx.checker.check_model(model)
    onnx.checker.check_model(enc)
    onnx.save(enc, encoder_path)
    onnx.save(model, decoder_path)


if __name__ == "__main__":
    import os
    out = sys.argv[1]
    rewrite(os.path.join(out, "encoder.onnx"), os.path.join(out, "decoder.onnx"))
