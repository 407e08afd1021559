#!/usr/bin/env python3
"""The paper's U-Net in PyTorch, timed like `cargo bench --bench unet`.

The same network as physinv's `UNet()` (PhiFlow's `u_net(1, 1)` as the SIP paper used it):
4 levels of 16 filters, each a double stage (conv 3x3 -> batch norm -> ReLU, twice), 2x2
max-pool down, bilinear x2 up (align_corners=False) then concatenation with the skip (skip
first, 32 -> 16 channels), zero padding, a 1x1 output conv: 37,697 parameters. Times, on
`--threads` threads (default 2) at batch 128 on 1 x 64 x 64 in training mode, the forward
pass and one training step (forward, then backward of sum(out * cotangent) for the
parameter gradient), the best and the median of `--repeat` repetitions after warm-up.

Not part of `cargo test`. Needs torch (CPU): `pip install torch`.
Usage: python3 scripts/bench_unet.py [--threads 2] [--batch 128] [--repeat 10]
"""
import argparse
import statistics
import time

import torch
from torch import nn


class DoubleConv(nn.Sequential):
    def __init__(self, inputs, filters):
        super().__init__(
            nn.Conv2d(inputs, filters, 3, padding=1), nn.BatchNorm2d(filters), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, padding=1), nn.BatchNorm2d(filters), nn.ReLU(),
        )


class UNet(nn.Module):
    def __init__(self, inputs=1, outputs=1, levels=4, filters=16):
        super().__init__()
        self.down = nn.ModuleList(
            [DoubleConv(inputs if l == 0 else filters, filters) for l in range(levels)])
        self.up = nn.ModuleList([DoubleConv(2 * filters, filters) for _ in range(levels - 1)])
        self.out = nn.Conv2d(filters, outputs, 1)
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x):
        skips = []
        for l, stage in enumerate(self.down):
            x = stage(x if l == 0 else self.pool(x))
            skips.append(x)
        for l in reversed(range(len(self.up))):
            x = self.up[l](torch.cat([skips[l], self.upsample(x)], dim=1))
        return self.out(x)


def timed(f, repeat):
    f()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = UNet().train()
    parameters = sum(p.numel() for p in net.parameters())
    x = torch.randn(args.batch, 1, 64, 64)
    cot = torch.randn(args.batch, 1, 64, 64)

    def forward():
        with torch.no_grad():
            net(x)

    def step():
        net.zero_grad(set_to_none=True)
        (net(x) * cot).sum().backward()

    print(f"torch {torch.__version__}, {args.threads} threads, U-Net {parameters} parameters, "
          f"batch {args.batch} x 1 x 64 x 64")
    for name, f in [("forward", forward), ("forward+backward (one step)", step)]:
        best, median = timed(f, args.repeat)
        print(f"{name}: best {best * 1e3:.0f} ms, median {median * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
