//! One half-inverse-gradient iteration on the coupled oscillators, split into its parts —
//! rollout, residual Jacobian, spectrum (Gram route and faer's thin SVD), the whole update —
//! beside a BPTT update of the same batch, at two sizes:
//!
//! - `book`: `scenarios/oscillators_book.ron` as shipped (24 steps, 4→20→20→20→24 tanh,
//!   batch 32): the Jacobian is 128 × 1444;
//! - `paper`: the paper's sizes (96 steps, 4→20→20→20→96 ReLU, batch 128): 512 × 2956.
//!
//! `cargo bench --bench hig`. The ratio `hig_update / bptt_update` is the cost of a HIG
//! iteration in BPTT iterations of the same batch.

use criterion::{criterion_group, criterion_main, Criterion};
use physinv::episode::rollout;
use physinv::scenario::Scenario;
use physinv::train::bptt::Bptt;
use physinv::train::hig::{Hig, Spectrum};
use physinv::train::residuals::residual_jacobian;
use physinv::train::{Trainer, UpdateRule};
use physinv::Registry;
use std::path::Path;
use std::time::Duration;

const BOOK: &str = "scenarios/oscillators_book.ron";

/// The book's scenario, or with the paper's steps, step size, network and batch.
fn scenario(paper: bool) -> Scenario {
    let mut source = std::fs::read_to_string(BOOK).expect("book scenario");
    if paper {
        source = source
            .replace("dt: 0.5", "dt: 0.125")
            .replace("steps: 24", "steps: 96")
            .replace("activation: tanh", "activation: relu")
            .replace("batch: 32", "batch: 128");
    }
    Scenario::parse(&source, Path::new(BOOK), &Registry::with_builtins()).expect("scenario")
}

fn bench_size(c: &mut Criterion, label: &str, paper: bool) {
    let scenario = scenario(paper);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let batch = scenario.spec.methods[0].batch_size(&scenario.spec.training);
    let scenes = &trainer.test_scenes()[..batch];
    let episodes = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
    let residuals = residual_jacobian(&ctx, &net, scenes, &episodes).expect("jacobian");
    let (p, r) = residuals.jacobian.shape();
    let hig = Hig {
        truncation: 1e-10,
        exponent: 0.5,
    };
    let mut group = c.benchmark_group(format!("hig_{label}_{r}x{p}"));
    group.bench_function("rollout", |b| {
        b.iter(|| rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout"))
    });
    group.bench_function("jacobian", |b| {
        b.iter(|| residual_jacobian(&ctx, &net, scenes, &episodes).expect("jacobian"))
    });
    group.bench_function("spectrum_gram", |b| {
        b.iter(|| Spectrum::from_gram(&residuals.jacobian, hig.truncation, None).expect("gram"))
    });
    group.bench_function("spectrum_svd", |b| {
        b.iter(|| Spectrum::from_svd(&residuals.jacobian, hig.truncation).expect("svd"))
    });
    group.bench_function("hig_update", |b| {
        b.iter(|| hig.update(&ctx, &net, scenes, &episodes).expect("hig"))
    });
    group.bench_function("bptt_update", |b| {
        b.iter(|| {
            Bptt::default()
                .update(&ctx, &net, scenes, &episodes)
                .expect("bptt")
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_size(c, "book", false);
    bench_size(c, "paper", true);
}

criterion_group! {
    name = hig;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(hig);
