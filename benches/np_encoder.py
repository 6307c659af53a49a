"""numpy + OpenBLAS forward pass of the same BERT encoder on the same token ids as benches/encoder.rs.

Reads model.safetensors directly (no torch, no safetensors package), batches of the same size sorted by
length, padded only within a batch, masked attention, mean pooling. Prints tokens/s and the ratio
yusa / numpy. Usage: python3 benches/np_encoder.py MODEL_DIR IDS_JSON
"""
import json, struct, sys, time
import numpy as np

def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == '__metadata__':
            continue
        a, b = meta['data_offsets']
        dt = {'F32': np.float32, 'F16': np.float16}[meta['dtype']]
        out[name] = np.frombuffer(data[a:b], dtype=dt).reshape(meta['shape']).astype(np.float32)
    return out

def erf(x):
    # numpy has no erf; Abramowitz-Stegun 7.1.26 (max error 1.5e-7) is accurate enough for GELU.
    s = np.sign(x); x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-x * x)
    return s * y

class NpBert:
    def __init__(self, d):
        self.c = json.load(open(d + '/config.json'))
        self.w = load_safetensors(d + '/model.safetensors')
        # Pre-transpose once: x @ W.T as a contiguous GEMM.
        self.wt = {k: np.ascontiguousarray(v.T) for k, v in self.w.items() if v.ndim == 2 and 'embeddings' not in k}

    def ln(self, x, p):
        m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + self.c['layer_norm_eps']) * self.w[p + '.weight'] + self.w[p + '.bias']

    def lin(self, x, p):
        return x @ self.wt[p + '.weight'] + self.w[p + '.bias']

    def forward(self, ids, mask):
        c, w = self.c, self.w
        B, T = ids.shape; H, NH = c['hidden_size'], c['num_attention_heads']; hd = H // NH
        x = w['embeddings.word_embeddings.weight'][ids] + w['embeddings.position_embeddings.weight'][:T][None] \
            + w['embeddings.token_type_embeddings.weight'][0]
        x = self.ln(x, 'embeddings.LayerNorm').reshape(B * T, H)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for l in range(c['num_hidden_layers']):
            p = f'encoder.layer.{l}.'
            q, k, v = (self.lin(x, p + 'attention.self.' + n).reshape(B, T, NH, hd).transpose(0, 2, 1, 3) for n in ('query', 'key', 'value'))
            a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + bias
            a = np.exp(a - a.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(B * T, H)
            x = self.ln(x + self.lin(ctx, p + 'attention.output.dense'), p + 'attention.output.LayerNorm')
            h = self.lin(x, p + 'intermediate.dense'); h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
            x = self.ln(x + self.lin(h, p + 'output.dense'), p + 'output.LayerNorm')
        x = x.reshape(B, T, H)
        e = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return e / np.linalg.norm(e, axis=1, keepdims=True)

def main():
    model_dir, ids_path = sys.argv[1], sys.argv[2]
    run = json.load(open(ids_path))
    seqs, bs = run['ids'], run['batch']
    m = NpBert(model_dir)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    batches = [order[i:i + bs] for i in range(0, len(order), bs)]
    def pad(batch):
        T = max(len(seqs[i]) for i in batch)
        ids = np.full((len(batch), T), m.c['pad_token_id'], dtype=np.int64); mask = np.zeros((len(batch), T), np.float32)
        for r, i in enumerate(batch):
            ids[r, :len(seqs[i])] = seqs[i]; mask[r, :len(seqs[i])] = 1
        return ids, mask
    m.forward(*pad(batches[0]))  # warm-up
    t0 = time.perf_counter()
    for b in batches:
        m.forward(*pad(b))
    secs = time.perf_counter() - t0
    n_tok = sum(len(s) for s in seqs)
    np_tps = n_tok / secs
    print(f"numpy {np.__version__} + OpenBLAS f32 (length-sorted batches of {bs}): {len(seqs)} sentences, {n_tok} tokens in {secs:.2f} s "
          f"→ {len(seqs) / secs:.1f} sentences/s, {np_tps:.0f} tokens/s")
    y = run['yusa']
    y_tps = y['tokens'] / y['seconds']
    print(f"ratio yusa / numpy: {y_tps / np_tps:.2f}× ({y_tps:.0f} vs {np_tps:.0f} tokens/s)")

if __name__ == '__main__':
    main()
