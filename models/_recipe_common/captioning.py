"""What the captioning recipes (models/caption, models/video_caption) share: padding a batch of token
lists, and greedy decoding of an encoder + attention-decoder-step model (each step's argmax fed back,
per sequence until EOS), optionally with the attention of each emitted token."""
import torch


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
