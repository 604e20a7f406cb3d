"""The PyTorch peer of bench/train.ts: the same Llama-style model (RMSNorm, rotary embeddings, causal
attention, SwiGLU MLP, untied head) trained with Adam on random tokens, and sampled with a KV cache.
Eager fp32 on the CPU (or --device cuda). Prints one JSON line; bench/train.ts runs it and compares.
Run: python3 bench/train_torch.py --vocab 4096 --dim 256 --layers 4 --heads 4 --batch 8 --seq 256
"""
import argparse, json, math, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(nn.Module):
    def __init__(self, a):
        super().__init__()
        D, F_ = a.dim, a.ffn
        self.h, self.hd = a.heads, D // a.heads
        self.input_layernorm = RMSNorm(D, 1e-5)
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.post_attention_layernorm = RMSNorm(D, 1e-5)
        self.gate_proj, self.up_proj = nn.Linear(D, F_, bias=False), nn.Linear(D, F_, bias=False)
        self.down_proj = nn.Linear(F_, D, bias=False)

    def forward(self, x, cos, sin, mask, cache=None):
        B, T, D = x.shape
        h = self.input_layernorm(x)
        q, k, v = (p(h).view(B, T, self.h, self.hd).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache[0] is not None:
                k, v = torch.cat((cache[0], k), 2), torch.cat((cache[1], v), 2)
            cache[0], cache[1] = k, v
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        if mask is not None:
            att = att + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.embed_tokens = nn.Embedding(a.vocab, a.dim)
        self.layers = nn.ModuleList(Block(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.dim, 1e-5)
        self.lm_head = nn.Linear(a.dim, a.vocab, bias=False)
        hd = a.dim // a.heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(a.max_pos).float(), inv)
        ang = torch.cat((ang, ang), -1)
        self.register_buffer('cos', ang.cos(), persistent=False)
        self.register_buffer('sin', ang.sin(), persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, caches=None, pos=0):
        B, T = ids.shape
        x = self.embed_tokens(ids)
        cos, sin = self.cos[pos:pos + T], self.sin[pos:pos + T]
        mask = None
        if T > 1:
            mask = torch.full((T, pos + T), float('-inf'), device=ids.device).triu(pos + 1)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, caches[i] if caches is not None else None)
        return self.lm_head(self.norm(x))


def sync(dev):
    if dev == 'cuda':
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    for k, v in dict(vocab=4096, dim=256, layers=4, heads=4, ffn=688, batch=8, seq=256, steps=5, warmup=2,
                     sample_batch=8, prompt=16, new_tokens=128, threads=0, max_pos=1024).items():
        ap.add_argument('--' + k.replace('_', '-'), type=int, default=v)
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = a.device
    model = Llama(a).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), device=dev)

    def step():
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step().item()
    sync(dev)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        loss = step().item()
    sync(dev)
    wall, cpu = (time.perf_counter() - t0) / a.steps, (time.process_time() - c0) / a.steps

    @torch.no_grad()
    def sample():
        g = torch.Generator(device=dev).manual_seed(0)
        prompt = torch.randint(0, a.vocab, (a.sample_batch, a.prompt), device=dev)
        caches = [[None, None] for _ in range(a.layers)]
        logits = model(prompt, caches, 0)[:, -1]
        pos = a.prompt
        for _ in range(a.new_tokens):
            nxt = torch.multinomial(logits.softmax(-1), 1, generator=g)
            nxt.cpu()  # the host sees every token (stop tokens), as the tfjs sampler does
            logits = model(nxt, caches, pos)[:, -1]
            pos += 1

    sample()
    sync(dev)
    t1, c1 = time.perf_counter(), time.process_time()
    sample()
    sync(dev)
    s_wall, s_cpu = time.perf_counter() - t1, time.process_time() - c1
    n_tok = a.sample_batch * a.new_tokens
    print(json.dumps({
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'device': dev,
        'params': sum(p.numel() for p in model.parameters()), 'loss': loss,
        'train_step_s': wall, 'train_tok_s': a.batch * a.seq / wall, 'train_tok_cpu_s': a.batch * a.seq / cpu,
        'sample_tok_s': n_tok / s_wall, 'sample_tok_cpu_s': n_tok / s_cpu,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == '__main__':
    main()
