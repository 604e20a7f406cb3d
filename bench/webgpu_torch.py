# The PyTorch peer of bench/webgpu.ts: the same Llama-style model (RMSNorm, RoPE, grouped-query
# attention, SwiGLU, untied or tied head) in fp32 eager mode, timed the same way: AdamW training steps
# on random tokens (loss read back every step) and batched sampling with a KV cache (tokens read back
# every step). Prints one JSON line. Knows nothing about tfjs.
#   python3 bench/webgpu_torch.py --config '{"hidden_size":256,...}' --batch 8 --seq 256 --steps 5 --device cuda
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        D, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.H, self.KV, self.hd, self.eps = H, KV, D // H, c["rms_norm_eps"]
        self.ln1 = torch.nn.Parameter(torch.ones(D))
        self.ln2 = torch.nn.Parameter(torch.ones(D))
        self.q = torch.nn.Linear(D, D, bias=False)
        self.k = torch.nn.Linear(D, KV * self.hd, bias=False)
        self.v = torch.nn.Linear(D, KV * self.hd, bias=False)
        self.o = torch.nn.Linear(D, D, bias=False)
        F_ = c["intermediate_size"]
        self.gate = torch.nn.Linear(D, F_, bias=False)
        self.up = torch.nn.Linear(D, F_, bias=False)
        self.down = torch.nn.Linear(F_, D, bias=False)

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def forward(self, x, cos, sin, cache=None):
        B, T, D = x.shape
        h = self.norm(x, self.ln1)
        q = self.q(h).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.KV, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.KV, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        rep = self.H // self.KV
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)  # [B, H, T, S]
        S = k.shape[2]
        mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(B, T, D))
        h = self.norm(x, self.ln2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rot * sin


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        D, V = c["hidden_size"], c["vocab_size"]
        self.emb = torch.nn.Embedding(V, D)
        self.blocks = torch.nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = torch.nn.Parameter(torch.ones(D))
        self.head = None if c.get("tie_word_embeddings") else torch.nn.Linear(D, V, bias=False)
        hd = D // c["num_attention_heads"]
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(c["max_position_embeddings"]).float(), inv)
        self.register_buffer("cos", torch.cat([ang.cos(), ang.cos()], -1), persistent=False)
        self.register_buffer("sin", torch.cat([ang.sin(), ang.sin()], -1), persistent=False)

    def forward(self, ids, caches=None, pos=0):
        T = ids.shape[1]
        x = self.emb(ids)
        cos, sin = self.cos[pos : pos + T], self.sin[pos : pos + T]
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, None if caches is None else caches[i])
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["rms_norm_eps"]) * self.norm
        return x @ self.emb.weight.T if self.head is None else self.head(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sample-batch", type=int, default=8)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=32)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    c = json.loads(a.config)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, as on webgpu
    torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = Llama(c).to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, c["vocab_size"], (a.batch, a.seq), device=dev)

    def train_step():
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()  # one readback per step, as the tfjs side does

    for _ in range(a.warmup):
        train_step()
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        train_step()
    sync()
    train_s = (time.perf_counter() - t0) / a.steps

    @torch.no_grad()
    def sample():
        prompts = torch.randint(0, c["vocab_size"], (a.sample_batch, a.prompt), device=dev)
        caches = [dict() for _ in model.blocks]
        x, pos, out = prompts, 0, []
        for _ in range(a.new):
            logits = model(x, caches, pos)[:, -1]
            pos += x.shape[1]
            x = torch.multinomial(logits.softmax(-1), 1)
            out.append(x.cpu())  # tokens read back every step, as the tfjs sampler reads logits
        return out

    sample()
    sync()
    t0 = time.perf_counter()
    sample()
    sync()
    sample_s = time.perf_counter() - t0
    print(json.dumps({
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "torch": torch.__version__, "params": params,
        "train_tok_s": a.batch * (a.seq - 1) / train_s, "train_step_s": train_s,
        "sample_tok_s": a.sample_batch * a.new / sample_s,
    }))


if __name__ == "__main__":
    main()
