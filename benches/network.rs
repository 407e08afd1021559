//! The network's forward and backward passes against their arithmetic: each entry's
//! throughput is in FLOP/s (`2 × multiply-adds` of the layer products), so the report reads
//! directly against the single-core FMA rate of the machine.
//!
//! `cargo bench --bench network`. Networks as the scenarios build them: the Burgers controller
//! (65 → 128 → 128 → 32, ReLU) at the rollout's chunk and batch (16 and 32 episodes), at a
//! group of the SIP update (16 episodes × 32 steps) and at the stacked proxy
//! batch (32 episodes × 32 steps), and the sine network at batch 100, on one worker thread (`PHYSINV_BENCH_THREADS`: more).

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use nalgebra::DMatrix;
use physinv::net::mlp::MlpParams;
use physinv::net::{Mlp, MlpConfig};
use physinv::scenario::Scenario;
use std::cell::RefCell;
use std::hint::black_box;

/// The allocator of the `physinv` binary, whose passes this bench times (with glibc's, a
/// pass's output of more than 128 KiB is a fresh mapping, page faults included, every time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Multiply-adds of one sample through the layer products of `config`.
fn multiply_adds(config: &MlpConfig) -> u64 {
    config
        .widths()
        .windows(2)
        .map(|w| (w[0] * w[1]) as u64)
        .sum()
}

fn bench_network(c: &mut Criterion, label: &str, path: &str, batches: &[usize]) {
    let scenario = Scenario::load(path).expect("scenario loads");
    // The MLP kind's own passes: built as the trainer builds the scenario's network.
    let params = scenario
        .spec
        .network
        .downcast::<MlpParams>()
        .expect("an MLP scenario");
    let config = params.config(scenario.network_inputs(), scenario.network_outputs());
    let net = Mlp::new(&config, scenario.spec.training.seed).expect("network");
    let params = net.parameters();
    let net = RefCell::new(net);
    // Before every timed pass the parameters change (to the same values), as an optimizer step
    // changes them between a training iteration's passes: the network keeps every forward
    // pass since its parameters last changed and would find a repeated input's pass instead of
    // computing it. The parameters' copy for the passes is made by a one-sample pass, untimed.
    let one = DMatrix::zeros(config.inputs, 1);
    let change = || {
        net.borrow_mut()
            .set_parameters(&params)
            .expect("same shape");
        net.borrow().forward(&one);
    };
    let mut group = c.benchmark_group(label);
    for &batch in batches {
        let inputs = DMatrix::from_fn(config.inputs, batch, |i, j| {
            ((i * 31 + j * 17) % 97) as f64 / 97.0 - 0.5
        });
        let cotangent = DMatrix::from_fn(config.outputs, batch, |i, j| {
            ((i * 13 + j * 7) % 89) as f64 / 89.0 - 0.5
        });
        let flops = 2 * multiply_adds(&config) * batch as u64;
        // The first layer's input cotangent is not formed: three products per layer but two
        // for the first.
        let first = 2 * (config.inputs * config.widths()[1]) as u64 * batch as u64;
        group.throughput(Throughput::Elements(flops));
        group.bench_with_input(BenchmarkId::new("forward", batch), &batch, |b, _| {
            b.iter_batched(
                change,
                |()| net.borrow().forward(black_box(&inputs)),
                BatchSize::PerIteration,
            )
        });
        // Forward then backward, as a training iteration runs them (the backward reuses the
        // forward's activations).
        group.throughput(Throughput::Elements(3 * flops - first));
        group.bench_with_input(
            BenchmarkId::new("forward_backward", batch),
            &batch,
            |b, _| {
                b.iter_batched(
                    change,
                    |()| {
                        let net = net.borrow();
                        net.forward(black_box(&inputs));
                        net.backward(black_box(&inputs), black_box(&cotangent))
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    // The passes split large batches over the global pool's workers: one by default, so that
    // the throughput is one core's; `PHYSINV_BENCH_THREADS=2` shows what the split buys.
    let threads = std::env::var("PHYSINV_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("global pool");
    bench_network(
        c,
        "network_burgers",
        "scenarios/burgers.ron",
        &[16, 32, 512, 1024],
    );
    bench_network(
        c,
        "network_sine",
        "benches/pytorch/sine_analytic.ron",
        &[100],
    );
}

criterion_group! {
    name = network;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(network);
