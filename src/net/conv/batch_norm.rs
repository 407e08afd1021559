//! Batch normalisation per channel: `y = γ (x − μ)/√(σ² + ε) + β`, with `μ`, `σ²` the mean and
//! (biased) variance of the channel over the batch's images and cells (training statistics)
//! or fixed values (the running averages, at evaluation).
//!
//! With batch statistics every output depends on every image of the batch, and the backward
//! pass carries that: `dx = γ/√(σ² + ε) · (dy − mean(dy) − x̂ · mean(dy x̂))` per channel,
//! `x̂ = (x − μ)/√(σ² + ε)`. With fixed statistics it is `γ/√(σ² + ε) · dy`. Both give
//! `dγ = Σ dy x̂`, `dβ = Σ dy`. Sums over images are formed in `f64` per chunk of images and
//! added chunk by chunk ([`super::shape::sum_over_chunks`]), so the results do not depend on
//! the thread count.
//!
//! Running averages follow PyTorch: `r ← (1 − m) r + m s` with momentum `m = 0.1`, the
//! variance's batch value unbiased (`n/(n − 1) σ²`, `n` the values per channel).

use super::shape::{sum_over_chunks, Shape};
use rayon::prelude::*;

/// `ε` of `√(σ² + ε)` (PyTorch's default).
pub const EPSILON: f64 = 1e-5;
/// Weight of a new batch's statistics in the running averages (PyTorch's default).
pub const MOMENTUM: f64 = 0.1;

/// Per-channel mean and variance.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistics {
    /// `μ` per channel.
    pub mean: Vec<f32>,
    /// `σ²` per channel.
    pub var: Vec<f32>,
}

/// Where the statistics of a pass come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The batch itself: the backward pass differentiates through them.
    Batch,
    /// Fixed values (running averages): a per-channel affine map.
    Fixed,
}

/// The gradient of `γ` and `β`.
#[derive(Debug, Clone, PartialEq)]
pub struct NormGrads {
    /// `∂/∂γ` per channel.
    pub gamma: Vec<f32>,
    /// `∂/∂β` per channel.
    pub beta: Vec<f32>,
}

impl Statistics {
    /// The initial running averages: mean 0, variance 1.
    pub fn initial(channels: usize) -> Statistics {
        Statistics {
            mean: vec![0.0; channels],
            var: vec![1.0; channels],
        }
    }

    /// `1/√(σ² + ε)` per channel.
    fn inverse_std(&self) -> Vec<f32> {
        self.var
            .iter()
            .map(|v| (1.0 / (f64::from(*v) + EPSILON).sqrt()) as f32)
            .collect()
    }

    /// Folds `batch` (of `count` values per channel) into these running averages.
    pub fn update(&mut self, batch: &Statistics, count: usize) {
        let unbiased = count as f64 / (count.max(2) - 1) as f64;
        let blend = |r: &mut f32, s: f64| {
            *r = ((1.0 - MOMENTUM) * f64::from(*r) + MOMENTUM * s) as f32;
        };
        for (r, s) in self.mean.iter_mut().zip(&batch.mean) {
            blend(r, f64::from(*s));
        }
        for (r, s) in self.var.iter_mut().zip(&batch.var) {
            blend(r, f64::from(*s) * unbiased);
        }
    }
}

/// Per channel `Σ f(value, channel)` over the batch, in `f64`.
fn channel_sums(shape: Shape, f: impl Fn(usize, usize) -> f64 + Sync) -> Vec<f64> {
    let channels = shape.channels;
    let sums = sum_over_chunks(shape.batch, |images| {
        let mut s = vec![0.0f64; channels];
        for b in images {
            for (c, sc) in s.iter_mut().enumerate() {
                let start = b * shape.image() + c * shape.cells();
                *sc += (start..start + shape.cells()).map(|i| f(i, c)).sum::<f64>();
            }
        }
        s
    });
    if sums.is_empty() {
        vec![0.0; channels]
    } else {
        sums
    }
}

/// The mean and biased variance of every channel of `x` (of `shape`) over images and cells
/// (two passes, `f64` sums).
pub fn batch_statistics(x: &[f32], shape: Shape) -> Statistics {
    assert_eq!(x.len(), shape.len(), "batch-norm input length");
    let n = (shape.batch * shape.cells()).max(1) as f64;
    let mean: Vec<f64> = channel_sums(shape, |i, _| f64::from(x[i]))
        .into_iter()
        .map(|s| s / n)
        .collect();
    let var = channel_sums(shape, |i, c| (f64::from(x[i]) - mean[c]).powi(2));
    Statistics {
        mean: mean.iter().map(|m| *m as f32).collect(),
        var: var.iter().map(|v| (v / n) as f32).collect(),
    }
}

/// `x̂ = (x − μ) · inv` of one value.
#[inline(always)]
fn normalised(x: f32, mean: f32, inverse_std: f32) -> f32 {
    (x - mean) * inverse_std
}

/// `y = γ x̂ + β` for `x` of `shape` with `stats`, in parallel over images.
pub fn normalise(
    x: &[f32],
    shape: Shape,
    stats: &Statistics,
    (gamma, beta): (&[f32], &[f32]),
    y: &mut [f32],
) {
    assert_eq!(
        (x.len(), y.len()),
        (shape.len(), shape.len()),
        "batch-norm lengths"
    );
    if shape.is_empty() {
        return;
    }
    let inv = stats.inverse_std();
    y.par_chunks_mut(shape.image())
        .zip(x.par_chunks(shape.image()))
        .for_each(|(yi, xi)| {
            for (c, (yc, xc)) in yi
                .chunks_exact_mut(shape.cells())
                .zip(xi.chunks_exact(shape.cells()))
                .enumerate()
            {
                for (y, x) in yc.iter_mut().zip(xc) {
                    *y = gamma[c] * normalised(*x, stats.mean[c], inv[c]) + beta[c];
                }
            }
        });
}

/// The gradient of `γ`, `β` and (overwriting `dx`) the input cotangent of
/// `Σ dy ⊙ normalise(x)` with statistics `stats` from `source`.
pub fn backward(
    x: &[f32],
    shape: Shape,
    (stats, source): (&Statistics, Source),
    gamma: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> NormGrads {
    assert_eq!(
        (x.len(), dy.len(), dx.len()),
        (shape.len(), shape.len(), shape.len()),
        "batch-norm lengths"
    );
    let inv = stats.inverse_std();
    let xhat = |i: usize, c: usize| normalised(x[i], stats.mean[c], inv[c]);
    let sum_dy = channel_sums(shape, |i, _| f64::from(dy[i]));
    let sum_dy_xhat = channel_sums(shape, |i, c| f64::from(dy[i]) * f64::from(xhat(i, c)));
    let n = (shape.batch * shape.cells()).max(1) as f64;
    let (mean_dy, mean_dy_xhat): (Vec<f32>, Vec<f32>) = match source {
        Source::Batch => (
            sum_dy.iter().map(|s| (s / n) as f32).collect(),
            sum_dy_xhat.iter().map(|s| (s / n) as f32).collect(),
        ),
        Source::Fixed => (vec![0.0; shape.channels], vec![0.0; shape.channels]),
    };
    if !shape.is_empty() {
        dx.par_chunks_mut(shape.image())
            .enumerate()
            .for_each(|(b, dxi)| {
                for (c, dxc) in dxi.chunks_exact_mut(shape.cells()).enumerate() {
                    let start = b * shape.image() + c * shape.cells();
                    for (k, d) in dxc.iter_mut().enumerate() {
                        let i = start + k;
                        *d =
                            gamma[c] * inv[c] * (dy[i] - mean_dy[c] - xhat(i, c) * mean_dy_xhat[c]);
                    }
                }
            });
    }
    NormGrads {
        gamma: sum_dy_xhat.iter().map(|s| *s as f32).collect(),
        beta: sum_dy.iter().map(|s| *s as f32).collect(),
    }
}
