#!/usr/bin/env python3
"""The PyTorch peer of strata-bench: the five workloads of shared/bench/WORKLOADS.md written as a
PyTorch user would write them, the same definitions as bench/w*.cpp and bench/peers/libtorch.

strata-bench --vs pytorch starts it once per workload:
    python pytorch_workloads.py --worker W1 --threads 2 [--quick] [--device cuda]
and reads one JSON object per line from stdout (bench/protocol.h). --threads 0 leaves torch's
defaults. --device cuda is W6: W1 and W2 at batch 1024, W3 at 65536 and W5, on the GPU, with the
batches gathered on the host and copied over as strata-bench does. Needs torch and numpy (a virtual environment outside the source tree; see bench/RESULTS.md).
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def load_fashion_mnist_train():
    root = os.environ.get("STRATA_FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(root, "train-images-idx3-ubyte.gz"), "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows * cols)
    return torch.from_numpy(pixels.astype(np.float32) / 255.0)


def vae_loss(logits, x, mu, logvar):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (rec + kl) / x.shape[0]


class MlpVae(nn.Module):
    def __init__(self):
        super().__init__()
        self.e1, self.e2 = nn.Linear(784, 512), nn.Linear(512, 256)
        self.mu, self.logvar = nn.Linear(256, 32), nn.Linear(256, 32)
        self.d1, self.d2, self.d3 = nn.Linear(32, 256), nn.Linear(256, 512), nn.Linear(512, 784)

    def loss(self, x):
        h = F.relu(self.e2(F.relu(self.e1(x))))
        mu, lv = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        return vae_loss(self.d3(F.relu(self.d2(F.relu(self.d1(z))))), x, mu, lv)


class ConvVae(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 32, 4, 2, 1), nn.Conv2d(32, 64, 4, 2, 1)
        self.e = nn.Linear(3136, 256)
        self.mu, self.logvar = nn.Linear(256, 16), nn.Linear(256, 16)
        self.d1, self.d2 = nn.Linear(16, 256), nn.Linear(256, 3136)
        self.t1, self.t2 = nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def loss(self, x):
        n = x.shape[0]
        h = F.relu(self.c2(F.relu(self.c1(x.view(n, 1, 28, 28)))))
        h = F.relu(self.e(h.flatten(1)))
        mu, lv = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        g = F.relu(self.d2(F.relu(self.d1(z)))).view(n, 64, 7, 7)
        return vae_loss(self.t2(F.relu(self.t1(g))).view(n, 784), x, mu, lv)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(name, model, quick, quick_steps, device, batch):
    torch.manual_seed(0)
    train = load_fashion_mnist_train()
    model.to(device)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    order = torch.randperm(train.shape[0])
    last = 0.0

    def step(i):
        nonlocal last
        x = train.index_select(0, order[i * batch:(i + 1) * batch]).to(device)
        adam.zero_grad()
        loss = model.loss(x)
        loss.backward()
        adam.step()
        last = loss.item()

    step(0)  # warm-up
    steps = quick_steps if quick else train.shape[0] // batch
    synchronize(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    synchronize(device)
    seconds = time.perf_counter() - start
    return {"workload": name, "metric": "images/s", "value": steps * batch / seconds,
            "note": f"{steps} steps of {batch} on {device}, last batch loss {last:.6f}"}


def w3_fm_2d(quick, device, batch):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 256), nn.SiLU(), nn.Linear(256, 256), nn.SiLU(),
                        nn.Linear(256, 256), nn.SiLU(), nn.Linear(256, 2)).to(device)
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    last = 0.0

    def step():
        nonlocal last
        sign = torch.bernoulli(torch.full((batch, 1), 0.5, device=device)) * 2 - 1
        x1 = 0.5 * torch.randn(batch, 2, device=device) + 2 * sign
        x0 = torch.randn(batch, 2, device=device)
        t = torch.rand(batch, 1, device=device)
        xt = (1 - t) * x0 + t * x1
        loss = (net(torch.cat([xt, t], 1)) - (x1 - x0)).pow(2).sum() / batch
        adam.zero_grad()
        loss.backward()
        adam.step()
        last = loss.item()

    step()
    steps = 30 if quick else 300
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return {"workload": "W3", "metric": "steps/s", "value": steps / (time.perf_counter() - start),
            "note": f"{steps} steps of {batch} on {device}, last loss {last:.6f}"}


def w4_gemm():
    torch.manual_seed(2)
    figures = []
    for name, (m, k, n) in (("W4a", (1024, 1024, 1024)), ("W4b", (128, 784, 512))):
        a, b = torch.randn(m, k), torch.randn(k, n)
        torch.matmul(a, b)
        calls, start = 0, time.perf_counter()
        while True:
            torch.matmul(a, b)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= 0.5:
                break
        figures.append({"workload": name, "metric": "GFLOP/s", "value": 2.0 * m * n * k * calls / elapsed / 1e9,
                        "note": f"{m}x{k} @ {k}x{n}"})
    return figures


def w5_small_ops(quick, device):
    torch.manual_seed(0)
    a = torch.randn(64, requires_grad=True, device=device)
    b = torch.randn(64, device=device)

    def step():
        torch.tanh(a * b + b).sum().backward()

    step()
    steps = 2000 if quick else 20000
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return {"workload": "W5", "metric": "us/step", "value": (time.perf_counter() - start) * 1e6 / steps,
            "note": f"{steps} steps on {device}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", required=True, choices=["W1", "W2", "W3", "W4", "W5"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    if gpu and args.worker == "W4":
        parser.error("--device cuda: W4 measures the CPU's sgemm")
    if args.worker == "W1":
        figures = [train_epoch("W1", MlpVae(), args.quick, 50, device, 1024 if gpu else 128)]
    elif args.worker == "W2":
        figures = [train_epoch("W2", ConvVae(), args.quick, 10, device, 1024 if gpu else 128)]
    elif args.worker == "W3":
        figures = [w3_fm_2d(args.quick, device, 65536 if gpu else 1024)]
    elif args.worker == "W4":
        figures = w4_gemm()
    else:
        figures = [w5_small_ops(args.quick, device)]
    for f in figures:
        f["note"] += f"; torch {torch.__version__}, {torch.get_num_threads()} threads"
        print(json.dumps(f), flush=True)


if __name__ == "__main__":
    main()
