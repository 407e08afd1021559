#!/usr/bin/env python3
"""The sine training of benches/pytorch/sine_analytic.ron in PyTorch, for the speed comparison.

Same problem, network, batch and update rules as physinv's "SIP" and "Adam" methods there:
rotating sine P(x) = (sin(γ x̂₁/ξ), γ ξ x̂₂), x̂ = R_φ x, with ξ = 32, φ = 45°, γ = 10;
targets y* ~ U[−1, 1]²; MLP 2→32→64→32→2 (ReLU hidden, identity output, float32); batch
100; Adam(lr 1e-3). Physics in float64, like physinv.

- sip:  x = f(y*); ỹ = y* (Newton step η = 1); x̃ = P⁻¹(ỹ) on the arcsin branch nearest to x
        (the analytic local inverse); loss = mean over the batch of ½‖x − sg(x̃)‖².
- adam: loss = mean over the batch of ½‖P(f(y*)) − y*‖² (back-propagation through P).

One iteration = draw the batch, forward, physics (and inverse), backward, optimizer step.
Prints one JSON line: {"method", "iterations", "per_iter_us", "threads", "torch"}.
Run by benches/compare_pytorch.sh; not part of cargo test or CI.
"""

import argparse
import json
import math
import time

import torch

XI, PHI, GAMMA = 32.0, math.radians(45.0), 10.0
COS, SIN = math.cos(PHI), math.sin(PHI)


def forward_physics(x):
    """P(x) for a (batch, 2) float64 tensor."""
    h0 = COS * x[:, 0] - SIN * x[:, 1]
    h1 = SIN * x[:, 0] + COS * x[:, 1]
    return torch.stack((torch.sin(GAMMA * h0 / XI), GAMMA * XI * h1), dim=1)


def analytic_inverse(x, y):
    """The control nearest x (batch, 2) with P(x̃) = y, on the nearest arcsin branch."""
    a = GAMMA * (COS * x[:, 0] - SIN * x[:, 1]) / XI
    base = torch.asin(y[:, 0].clamp(-1.0, 1.0))
    mirrored = math.pi - base
    two_pi = 2.0 * math.pi
    c0 = base + two_pi * torch.round((a - base) / two_pi)
    c1 = mirrored + two_pi * torch.round((a - mirrored) / two_pi)
    best = torch.where((c0 - a).abs() <= (c1 - a).abs(), c0, c1)
    h0 = best * XI / GAMMA
    h1 = y[:, 1] / (GAMMA * XI)
    return torch.stack((COS * h0 + SIN * h1, -SIN * h0 + COS * h1), dim=1)


def network():
    return torch.nn.Sequential(
        torch.nn.Linear(2, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 2),
    )


def iteration(net, opt, method, batch, gen):
    target = torch.rand(batch, 2, dtype=torch.float64, generator=gen) * 2.0 - 1.0
    x = net(target.float())
    if method == "sip":
        with torch.no_grad():
            teacher = analytic_inverse(x.double(), target).float()
        loss = 0.5 * ((x - teacher) ** 2).sum(dim=1).mean()
    else:
        y = forward_physics(x.double())
        loss = 0.5 * ((y - target) ** 2).sum(dim=1).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["sip", "adam"], required=True)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    net = network()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(args.warmup):
        iteration(net, opt, args.method, args.batch, gen)
    start = time.perf_counter()
    for _ in range(args.iterations):
        loss = iteration(net, opt, args.method, args.batch, gen)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "method": args.method,
                "iterations": args.iterations,
                "per_iter_us": 1e6 * elapsed / args.iterations,
                "final_loss": float(loss),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
