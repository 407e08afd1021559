//! One training step of the paper's U-Net (`UNet()`: 4 levels, 16 filters, batch norm, ReLU,
//! zero padding; 37,697 parameters) at batch 128 on a 1 × 64 × 64 grid, and the cost of one
//! parameter-Jacobian row on 64 × 64.
//!
//! `cargo bench --bench unet`, on 2 worker threads (`PHYSINV_BENCH_THREADS`: another count).
//! Entries: `forward`; `backward`, which runs its own forward pass and then the backward
//! pass (parameter gradient): one training step; `forward_then_backward`, as a rollout and
//! an update run them. (Training keeps a forward pass for the backward pass on the same inputs
//! when its tape fits in 256 MiB, as a rollout chunk's 16 images do; the whole batch of 128
//! here does not, so this entry runs the forward pass twice.) Target on a 2-core machine: a
//! step ≤ 2 s.
//! `jacobian_row/*`: one row from a linearisation made beforehand, for the U-Net without
//! batch norm at one sample (a row is that sample's backward pass) and with batch norm at
//! batch 128 (batch statistics couple the samples: a row is a backward pass over the
//! batch). The PyTorch comparison is `scripts/bench_unet.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use nalgebra::DMatrix;
use physinv::layout::{Boundary, Component, Grid, Layout};
use physinv::net::{Network, NetworkIo, Networks, Port};
use std::hint::black_box;
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn unet(text: &str) -> Box<dyn Network> {
    let grid = Port::of(&Layout::Grid(Grid {
        channels: vec![Component::new("x", "1")],
        ny: 64,
        nx: 64,
        cell_size: 1.0,
        length_unit: "m".into(),
        boundary: Boundary::Bounded,
    }));
    let io = NetworkIo {
        input: grid,
        output: grid,
    };
    Networks::builtin()
        .parse(text)
        .expect("parses")
        .build(&io, 0)
        .expect("builds")
}

fn batch(rows: usize, cols: usize, phase: f64) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |i, b| {
        ((i * 7 + b * 13) as f64 * 0.01 + phase).sin()
    })
}

fn benches(c: &mut Criterion) {
    let threads = std::env::var("PHYSINV_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("global pool");
    let net = unet("UNet()");
    assert_eq!(net.num_parameters(), 37_697);
    let x = batch(4096, 128, 0.0);
    let cot = batch(4096, 128, 1.0);
    let mut group = c.benchmark_group("unet_128x64x64");
    group.bench_function("forward", |b| b.iter(|| net.forward(black_box(&x))));
    group.bench_function("backward", |b| {
        b.iter(|| net.backward(black_box(&x), black_box(&cot)))
    });
    group.bench_function("forward_then_backward", |b| {
        b.iter(|| {
            net.forward(black_box(&x));
            net.backward(black_box(&x), black_box(&cot))
        })
    });
    group.finish();

    let mut rows = c.benchmark_group("jacobian_row_64x64");
    let plain = unet("UNet(norm: none)");
    let one = batch(4096, 1, 0.0);
    let linearised = plain.linearise(&one);
    let column = cot.columns(0, 1).into_owned();
    let mut row = vec![0.0; plain.num_parameters()];
    rows.bench_function("no_norm_one_sample", |b| {
        b.iter(|| linearised.add_rows(black_box(&column), &[0], &mut row))
    });
    let coupled = net.linearise(&x);
    let mut row = vec![0.0; net.num_parameters()];
    rows.bench_function("batch_norm_batch_128", |b| {
        b.iter(|| coupled.add_rows(black_box(&column), &[3], &mut row))
    });
    rows.finish();
}

criterion_group! {
    name = unet_step;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    targets = benches
}
criterion_main!(unet_step);
