//! Central-difference checks of every layer's backward pass (input, weight and bias
//! cotangents, both paddings, 3×3 and 1×1, several channel counts; batch norm with batch
//! statistics), and the same bits on one and on two threads.

use super::batch_norm::{self, Source, Statistics};
use super::pool::{max_pool, max_pool_backward, pooled};
use super::shape::{Padding, Shape};
use super::upsample::{upsample, upsample_backward, upsampled};
use super::Conv2d;

/// Central-difference step on `f32` values of order 1: the rounding of the outputs
/// (`~6e-8` relative, summed in `f64`) over `2h` stays near `1e-5`, and the truncation of
/// the smooth layers (batch norm) is `O(h²) ≈ 1e-4`.
const STEP: f32 = 1e-2;
/// Tolerance per derivative, relative to the largest derivative (at least 1).
const TOLERANCE: f64 = 2e-3;

/// Deterministic values in `[-1, 1)`, distinct and at least `2/len` apart (so that a
/// perturbation by [`STEP`] crosses no tie of a max-pool and no kink of a window).
fn values(len: usize, seed: usize) -> Vec<f32> {
    // A permutation of 0..len (a stride coprime with len), mapped onto [-1, 1).
    let stride = (0..)
        .map(|k| 7919 + k)
        .find(|s| gcd(*s, len.max(1)) == 1)
        .unwrap();
    (0..len)
        .map(|i| ((i * stride + seed) % len.max(1)) as f32 * 2.0 / len.max(1) as f32 - 1.0)
        .collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// `Σ c ⊙ y` in `f64`.
fn weighted(c: &[f32], y: &[f32]) -> f64 {
    c.iter()
        .zip(y)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum()
}

/// Every entry of `grad` against the central difference of `loss` at `theta`.
fn check(what: &str, theta: &[f32], grad: &[f32], loss: impl Fn(&[f32]) -> f64) {
    assert_eq!(theta.len(), grad.len(), "{what}: gradient length");
    let scale = grad.iter().fold(1.0f64, |m, g| m.max(f64::from(g.abs())));
    let mut p = theta.to_vec();
    for i in 0..theta.len() {
        p[i] = theta[i] + STEP;
        let up = loss(&p);
        p[i] = theta[i] - STEP;
        let down = loss(&p);
        p[i] = theta[i];
        let fd = (up - down) / (2.0 * f64::from(STEP));
        let g = f64::from(grad[i]);
        assert!(
            (fd - g).abs() <= TOLERANCE * scale,
            "{what}: entry {i}: analytic {g}, central difference {fd}"
        );
    }
}

/// Input, weight and bias gradients of convolutions: 3×3 and 1×1, both paddings, 1 to 4
/// channels, grids from one row to 5×5.
#[test]
fn convolution_gradients_match_central_differences() {
    for (inputs, outputs, kernel, (ny, nx)) in [
        (1, 1, 3, (4, 4)),
        (2, 3, 3, (3, 5)),
        (3, 2, 3, (1, 6)),
        (2, 4, 1, (4, 3)),
        (4, 1, 3, (5, 5)),
    ] {
        for padding in [Padding::Zero, Padding::Periodic] {
            let conv = Conv2d::new(inputs, outputs, kernel, padding);
            let shape = Shape::new(2, inputs, ny, nx);
            let out = shape.with_channels(outputs);
            let (x, w) = (values(shape.len(), 1), values(conv.weights(), 2));
            let (b, c) = (values(outputs, 3), values(out.len(), 4));
            let loss = |x: &[f32], w: &[f32], b: &[f32]| {
                let mut y = vec![0.0; out.len()];
                conv.forward(x, shape, w, b, &mut y);
                weighted(&c, &y)
            };
            let mut dx = vec![0.0; x.len()];
            let grads = conv.backward(&x, shape, &w, &c, &mut dx);
            let what = format!("conv {inputs}→{outputs} {kernel}×{kernel} {padding:?} {ny}×{nx}");
            check(&format!("{what} input"), &x, &dx, |x| loss(x, &w, &b));
            check(&format!("{what} weight"), &w, &grads.weight, |w| {
                loss(&x, w, &b)
            });
            check(&format!("{what} bias"), &b, &grads.bias, |b| {
                loss(&x, &w, b)
            });
            // Without the input cotangent, the same parameter gradient.
            assert_eq!(conv.backward(&x, shape, &w, &c, &mut []), grads, "{what}");
        }
    }
}

#[test]
fn max_pool_gradient_matches_central_differences() {
    let shape = Shape::new(2, 3, 4, 6);
    let x = values(shape.len(), 5);
    let c = values(pooled(shape).len(), 6);
    let loss = |x: &[f32]| {
        let mut y = vec![0.0; pooled(shape).len()];
        max_pool(x, shape, &mut y);
        weighted(&c, &y)
    };
    let mut dx = vec![0.0; x.len()];
    max_pool_backward(&x, shape, &c, &mut dx);
    check("max-pool input", &x, &dx, loss);
}

#[test]
fn upsampling_gradient_matches_central_differences() {
    for padding in [Padding::Zero, Padding::Periodic] {
        let shape = Shape::new(2, 2, 3, 4);
        let x = values(shape.len(), 7);
        let c = values(upsampled(shape).len(), 8);
        let loss = |x: &[f32]| {
            let mut y = vec![0.0; upsampled(shape).len()];
            upsample(x, shape, padding, &mut y);
            weighted(&c, &y)
        };
        let mut dx = vec![0.0; x.len()];
        upsample_backward(&c, shape, padding, &mut dx);
        check(&format!("up-sampling {padding:?}"), &x, &dx, loss);
    }
}

/// Batch norm with the batch's statistics (every output depends on every image) and with
/// fixed statistics: input, `γ` and `β` gradients.
#[test]
fn batch_norm_gradients_match_central_differences() {
    let shape = Shape::new(3, 2, 3, 3);
    let x = values(shape.len(), 9);
    let gamma: Vec<f32> = values(2, 10).iter().map(|g| g + 1.5).collect();
    let beta = values(2, 11);
    let c = values(shape.len(), 12);
    let fixed = Statistics {
        mean: vec![0.1, -0.2],
        var: vec![0.5, 2.0],
    };
    for source in [Source::Batch, Source::Fixed] {
        let stats_of = |x: &[f32]| match source {
            Source::Batch => batch_norm::batch_statistics(x, shape),
            Source::Fixed => fixed.clone(),
        };
        let loss = |x: &[f32], gamma: &[f32], beta: &[f32]| {
            let mut y = vec![0.0; shape.len()];
            batch_norm::normalise(x, shape, &stats_of(x), (gamma, beta), &mut y);
            weighted(&c, &y)
        };
        let mut dx = vec![0.0; x.len()];
        let stats = stats_of(&x);
        let grads = batch_norm::backward(&x, shape, (&stats, source), &gamma, &c, &mut dx);
        check(&format!("batch norm {source:?} input"), &x, &dx, |x| {
            loss(x, &gamma, &beta)
        });
        check(
            &format!("batch norm {source:?} γ"),
            &gamma,
            &grads.gamma,
            |g| loss(&x, g, &beta),
        );
        check(
            &format!("batch norm {source:?} β"),
            &beta,
            &grads.beta,
            |b| loss(&x, &gamma, b),
        );
    }
}

/// Every layer's forward and backward pass on 1 and on 2 threads: the same bits, on a batch
/// of several chunks.
#[test]
fn layers_give_the_same_bits_on_one_and_two_threads() {
    let run = || {
        let shape = Shape::new(11, 16, 8, 8);
        let conv = Conv2d::new(16, 16, 3, Padding::Periodic);
        let x = values(shape.len(), 13);
        let (w, b) = (values(conv.weights(), 14), values(16, 15));
        let mut y = vec![0.0; shape.len()];
        conv.forward(&x, shape, &w, &b, &mut y);
        let mut dx = vec![0.0; shape.len()];
        let grads = conv.backward(&x, shape, &w, &y, &mut dx);
        let stats = batch_norm::batch_statistics(&y, shape);
        let mut z = vec![0.0; shape.len()];
        let gamma = vec![1.0; 16];
        batch_norm::normalise(&y, shape, &stats, (&gamma, &b), &mut z);
        let mut dz = vec![0.0; shape.len()];
        let norm = batch_norm::backward(&y, shape, (&stats, Source::Batch), &gamma, &x, &mut dz);
        let mut p = vec![0.0; pooled(shape).len()];
        max_pool(&z, shape, &mut p);
        let mut u = vec![0.0; upsampled(pooled(shape)).len()];
        upsample(&p, pooled(shape), Padding::Zero, &mut u);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        [
            y,
            dx,
            grads.weight,
            grads.bias,
            stats.mean,
            stats.var,
            z,
            dz,
            norm.gamma,
            norm.beta,
            u,
        ]
        .iter()
        .map(|v| bits(v))
        .collect::<Vec<_>>()
    };
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(run)
    };
    assert_eq!(on(1), on(2));
}
