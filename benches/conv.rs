//! The convolution kernel against its arithmetic: a 3×3 convolution of 16 → 16 channels with
//! zero padding at batch 128 on 64 × 64 cells (a U-Net level of the paper's 2D experiments),
//! forward and forward + backward (weight gradient and input cotangent). Throughput is in
//! FLOP/s: criterion's `elem/s` counts `2 ×` the multiply-adds of the products (one product
//! forward, three forward + backward), so `Gelem/s` reads as GFLOP/s.
//!
//! `cargo bench --bench conv`, on 2 worker threads (`PHYSINV_BENCH_THREADS`: another count).
//! The target on a 2-core machine: forward + backward ≤ 300 ms.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use physinv::net::conv::{Conv2d, Padding, Shape};
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn values(len: usize, phase: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 31 + phase * 17) % 97) as f32 / 97.0 - 0.5)
        .collect()
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
    let conv = Conv2d::new(16, 16, 3, Padding::Zero);
    let shape = Shape::new(128, 16, 64, 64);
    let (x, w, b) = (
        values(shape.len(), 1),
        values(conv.weights(), 2),
        values(16, 3),
    );
    let dy = values(shape.len(), 4);
    let (mut y, mut dx) = (vec![0.0; shape.len()], vec![0.0; shape.len()]);
    let flops = 2 * conv.multiply_adds(shape);
    println!(
        "conv3x3 16→16, 128 × 64²: {:.2} GFLOP forward, {:.2} GFLOP forward + backward",
        flops as f64 * 1e-9,
        3.0 * flops as f64 * 1e-9
    );
    let mut group = c.benchmark_group("conv3x3_16_128x64x64");
    group.throughput(Throughput::Elements(flops));
    group.bench_function("forward", |bench| {
        bench.iter(|| conv.forward(black_box(&x), shape, &w, &b, &mut y))
    });
    group.throughput(Throughput::Elements(3 * flops));
    group.bench_function("forward_backward", |bench| {
        bench.iter(|| {
            conv.forward(black_box(&x), shape, &w, &b, &mut y);
            conv.backward(black_box(&x), shape, &w, black_box(&dy), &mut dx)
        })
    });
    group.finish();
}

criterion_group! {
    name = conv;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(5));
    targets = benches
}
criterion_main!(conv);
