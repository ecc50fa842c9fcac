#!/usr/bin/env python3
"""PyTorch eager reference of one CaLMFlow training step (issue 11, "Speed").

The same model and training step as the C++ default CaLMFlow (operators/src/calmflow.cpp,
operators/src/calmflow_transformer.cpp) at the 2-D size of the paper: batch 256 trajectories,
N = 16 time points, M = 8 trajectories per sequence, K = 1 token per state, width 64, 2 layers,
2 heads, feed-forward 256, D = 2; Adam lr 1e-3 (cosine schedule); one torch thread; PyTorch eager (no torch.compile,
no TorchScript).

  tokens    encoder MLP (D + 1) -> K w -> K w (Linear, GELU, Linear) on (z(t_i), t_i) (--time-input 0:
            on z(t_i) alone), states laid out time-major, then trajectory (sequence length N M K = 128)
  body      2 pre-LayerNorm blocks x += Attn(LN1(x)); x += W2 GELU(W1 LN2(x)); fused qkv Linear,
            rotary positions on all of each head's dimensions (base 10000, pairs (j, j + r/2)),
            causal mask, then a final LayerNorm
  head      --head gaussian (the C++ default): heteroscedastic Gaussian transition, MLP K w -> hw -> 2 D
            gives mean m and log-variance s of y = x_{i+1} - x_i (increment), variance exp(s) + 1e-4,
            loss the negative log-likelihood 0.5 ((y - m)^2 / var + log var) averaged over D
            --head flow: velocity MLP (D + 1 + K w) -> hw -> hw -> D, hw = max(K w, D),
            trained on y_r = (1 - r) e + r y with target y - e, y = x_{i+1} - x_i (increment)
            --head variational (the paper's head): mu, s MLPs w -> w -> w, sigma^2 = exp(s) + 1e-4,
            z = mu + sigma eps, decoder K w -> hw -> D on the increment; loss = squared error / D
            + 0.1 KL / D
  paths     bridge paths x_i = (1 - t_i) x_0 + t_i x_1 + sqrt(t_i (1 - t_i)) eps_i (path_sigma 1)

One thread: torch.set_num_threads(1) and, where the BLAS is OpenBLAS, openblas_set_num_threads(1).
A timed step is what CalmFlow::train() does per step: draw a minibatch (source and target rows
with replacement from pools of 4096 points, path noise, head noise), forward, loss.item() (the
finiteness check), zero_grad, backward, Adam step. CPU time is time.process_time() over the timed
steps after warm-up steps.

How to run the comparison (python3-torch is needed only here, never by CI):

    apt-get install -y python3-torch            # Debian 12: PyTorch 1.13, the LibTorch of the C++ build
    cmake --build build/release --target calmflow_benchmark
    build/release/benchmarks/calmflow_benchmark --benchmark_filter=CalmFlowTrainStep
      # ends with 3 rounds of (C++, eager, eager keeping freed memory), then per head
      #   "head H median: C++ .. ms, eager .. ms CPU per step; C++ / eager CPU-time ratio per training step .."
      #   calmflow_train_step head=H cpp_ms=.. eager_ms=.. ratio=.. eager_kept_memory_ms=.. ratio_kept_memory=..
      # It runs this script with the C++ model's parameter count (--parameters), time input and schedule.
      # "Keeping freed memory" runs eager with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:
      # glibc.malloc.trim_threshold=1073741824, which gives eager what the C++ training's CPU memory cache
      # gives it (no page faults on re-used memory): that ratio compares the computation alone.
      # ITEROP_PYTHON=/path/to/python3 selects the interpreter (default: python3, then /usr/bin/python3);
      # ITEROP_EAGER_HEADS=gaussian,flow,variational the heads (default: the C++ default head);
      # ITEROP_EAGER_REFERENCE=0 skips the comparison.
    python3 benchmarks/reference/calmflow_eager.py [--head gaussian|flow|variational] [--steps 30] [--warmup 5]

Output: one machine-readable line
    eager_cpu_seconds_per_step=<x> parameters=<n> head=<head> steps=<k>
(exit status 2 when --parameters is given and differs from the model's count).
"""
import argparse
import ctypes
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Mlp(nn.Module):
    """in -> hidden (-> hidden) -> out, GELU between layers (the C++ Mlp of form "gelu")."""

    def __init__(self, d_in, hidden, d_out, hidden_layers):
        super().__init__()
        sizes = [d_in] + [hidden] * hidden_layers + [d_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers):
                x = F.gelu(x)
        return x


def rotate(x, cos, sin):
    half = cos.shape[-1]
    x1, x2 = x[..., :half], x[..., half:2 * half]
    rotated = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    if 2 * half == x.shape[-1]:
        return rotated
    return torch.cat((rotated, x[..., 2 * half:]), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads, max_positions):
        super().__init__()
        self.width, self.heads, self.head_width = width, heads, width // heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        half = self.head_width // 2  # rotary on all of each head's dimensions
        j = torch.arange(half, dtype=torch.float64)
        inv_freq = torch.pow(10000.0, -2.0 * j / (2 * half))
        angle = torch.outer(torch.arange(max_positions, dtype=torch.float64), inv_freq)
        self.register_buffer("cos", torch.cos(angle).float())
        self.register_buffer("sin", torch.sin(angle).float())
        mask = torch.ones(max_positions, max_positions, dtype=torch.bool).triu(1)
        self.register_buffer("mask", mask)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, self.head_width).transpose(1, 2) for t in (q, k, v))
        cos, sin = self.cos[:n], self.sin[:n]
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_width)
        scores = scores.masked_fill(self.mask[:n, :n], float("-inf"))
        y = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, n, self.width)
        return self.out(y)


class Block(nn.Module):
    def __init__(self, width, heads, feedforward, max_positions):
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, max_positions)
        self.ln2 = nn.LayerNorm(width)
        self.ff1 = nn.Linear(width, feedforward)
        self.ff2 = nn.Linear(feedforward, width)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))


class CalmFlowNet(nn.Module):
    def __init__(self, a):
        super().__init__()
        w, k, d = a.width, a.spatial_tokens, a.dim
        hw = max(k * w, d)
        self.a = a
        self.enc = Mlp(d + (1 if a.time_input else 0), k * w, k * w, 1)
        max_positions = a.time_points * a.trajectories * k
        self.blocks = nn.ModuleList(Block(w, a.heads, a.feedforward, max_positions) for _ in range(a.layers))
        self.ln_f = nn.LayerNorm(w)
        if a.head == "flow":
            self.velocity = Mlp(d + 1 + k * w, hw, d, 2)
        elif a.head == "gaussian":
            self.gauss = Mlp(k * w, hw, 2 * d, 1)
        else:
            self.mu = Mlp(w, w, w, 1)
            self.s = Mlp(w, w, w, 1)
            self.dec = Mlp(k * w, hw, d, 1)

    def body(self, x):
        """States [S, N, M, D] -> hidden states [S, N M K, w]."""
        s, n, m, _ = x.shape
        if self.a.time_input:  # the encoder reads (z(t_i), t_i)
            t = (torch.arange(n, dtype=x.dtype) / (self.a.time_points - 1)).reshape(1, n, 1, 1)
            x = torch.cat((x, t.expand(s, n, m, 1)), dim=-1)
        h = self.enc(x).reshape(s, n * m * self.a.spatial_tokens, self.a.width)
        for block in self.blocks:
            h = block(h)
        return self.ln_f(h)

    def loss(self, x, eps, r):
        a = self.a
        s, n, m, d = x.shape
        k, w = a.spatial_tokens, a.width
        trained = (n - 1) * m * k
        hf = self.body(x)[:, :trained]
        prev, nxt = x[:, :-1], x[:, 1:]
        target = nxt - prev  # increment
        if a.head == "gaussian":
            out = self.gauss(hf.reshape(s, n - 1, m, k * w))
            mean, var = out[..., :d], torch.exp(out[..., d:]) + 1e-4
            data = (0.5 * ((target - mean).pow(2) / var + torch.log(var))).mean(-1)
            return data.sum() / (s * (n - 1) * m)
        if a.head == "flow":
            yr = (1.0 - r) * eps + r * target
            v = self.velocity(torch.cat((yr, r, hf.reshape(s, n - 1, m, k * w)), dim=-1))
            data = (v - (target - eps)).pow(2).mean(-1)
            return data.sum() / (s * (n - 1) * m)
        mu = self.mu(hf)
        var = torch.exp(self.s(hf)) + 1e-4
        kl = 0.5 * (mu.pow(2) + var - 1.0 - torch.log(var)).sum(-1)
        kl = kl.sum() / (s * trained * d)
        z = mu + torch.sqrt(var) * eps
        y = self.dec(z.reshape(s, n - 1, m, k * w))
        data = (y - target).pow(2).sum(-1) / d
        return data.sum() / (s * (n - 1) * m) + a.beta * kl


def pools(rows, generator):
    """8 Gaussians (variance 0.1) and two moons, like the C++ benchmark's data (timing does not depend on it)."""
    angles = torch.randint(0, 8, (rows,), generator=generator).double() * (2 * math.pi / 8)
    centres = 4.0 * torch.stack((torch.cos(angles), torch.sin(angles)), dim=-1)
    source = centres + math.sqrt(0.1) * torch.randn(rows, 2, generator=generator, dtype=torch.float64)
    u = torch.rand(rows, generator=generator, dtype=torch.float64) * math.pi
    upper = torch.rand(rows, generator=generator) < 0.5
    moon = torch.where(upper.unsqueeze(-1), torch.stack((torch.cos(u), torch.sin(u)), -1),
                       torch.stack((1 - torch.cos(u), 0.5 - torch.sin(u)), -1))
    target = moon + 0.05 * torch.randn(rows, 2, generator=generator, dtype=torch.float64)
    return source.float(), target.float()


def draw(a, source, target, generator):
    """One minibatch: bridge paths [S, N, M, D] and the head's noise."""
    s, n, m, d = a.batch // a.trajectories, a.time_points, a.trajectories, a.dim
    ia = torch.randint(0, source.shape[0], (s, m), generator=generator)
    ib = torch.randint(0, target.shape[0], (s, m), generator=generator)
    t = torch.linspace(0.0, 1.0, n).reshape(1, n, 1, 1)
    sigma = a.path_sigma * torch.sqrt((t * (1.0 - t)).clamp(min=0.0))
    x0, x1 = source[ia].unsqueeze(1), target[ib].unsqueeze(1)
    x = (1.0 - t) * x0 + t * x1 + sigma * torch.randn(s, n, m, d, generator=generator)
    if a.head == "flow":
        eps = torch.randn(s, n - 1, m, d, generator=generator)
        r = torch.rand(s, n - 1, m, 1, generator=generator)
    elif a.head == "variational":
        eps = torch.randn(s, (n - 1) * m * a.spatial_tokens, a.width, generator=generator)
        r = None
    else:
        eps, r = None, None
    return x, eps, r


def single_thread_blas():
    """One BLAS thread where torch's BLAS is OpenBLAS with its own pool (Debian's python3-torch;
    torch.set_num_threads does not reach it), as the C++ benchmark does."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line and "/" in line}
    except OSError:
        return
    for path in paths:
        try:
            ctypes.CDLL(path).openblas_set_num_threads(1)
        except (OSError, AttributeError):
            pass


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--head", choices=("gaussian", "flow", "variational"), default="gaussian")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--time-points", dest="time_points", type=int, default=16)
    p.add_argument("--trajectories", type=int, default=8)
    p.add_argument("--spatial-tokens", dest="spatial_tokens", type=int, default=1)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--feedforward", type=int, default=256)
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--time-input", dest="time_input", type=int, choices=(0, 1), default=1,
                   help="the encoder reads (z(t_i), t_i) (1, the C++ default) or z(t_i) (0)")
    p.add_argument("--path-sigma", dest="path_sigma", type=float, default=1.0)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-schedule", dest="lr_schedule", choices=("cosine", "constant"), default="cosine",
                   help="cosine: lr (1 + cos(pi k / steps)) / 2 at step k of warmup + steps (the C++ default)")
    p.add_argument("--steps", type=int, default=30, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parameters", type=int, default=None,
                   help="expected parameter count (the C++ model's); exit 2 if it differs")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.threads == 1:
        single_thread_blas()
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)
    net = CalmFlowNet(a)
    count = sum(q.numel() for q in net.parameters())
    if a.parameters is not None and a.parameters != count:
        print(f"calmflow_eager: the eager model has {count} parameters, the C++ model {a.parameters}",
              file=sys.stderr)
        print(f"eager_cpu_seconds_per_step=nan parameters={count} head={a.head} steps=0")
        return 2
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    source, target = pools(4096, gen)
    net.train()

    budget = a.warmup + a.steps

    def step(k):
        x, eps, r = draw(a, source, target, gen)
        loss = net.loss(x, eps, r)
        value = loss.item()
        if not math.isfinite(value):
            raise RuntimeError(f"non-finite loss {value}")
        opt.zero_grad()
        loss.backward()
        if a.lr_schedule == "cosine":
            for group in opt.param_groups:
                group["lr"] = 0.5 * a.lr * (1.0 + math.cos(math.pi * k / budget))
        opt.step()
        return value

    for k in range(a.warmup):
        step(k)
    t0 = time.process_time()
    for k in range(a.warmup, budget):
        step(k)
    per_step = (time.process_time() - t0) / max(a.steps, 1)
    print(f"eager_cpu_seconds_per_step={per_step:.6g} parameters={count} head={a.head} steps={a.steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
