//! Smooth random fields as PhiFlow's `Noise(scale=10, smoothness=1)` samples them on a grid
//! (`phi/field/_noise.py`, versions 2.0–2.2, which the paper's Poisson experiment used):
//! the ground truths of [`super::Poisson2d`]'s scenes.
//!
//! On the `N × N` grid of unit cells (the reference's domain has the size of its grid):
//!
//! 1. a complex normal `c_m = a_m + i b_m` (`a, b ~ N(0, 1)` independent) at every integer
//!    frequency `m = (m_x, m_y)` of the FFT grid;
//! 2. the physical wave number `k = scale · m / N` and the weight `w_m = 1/|k|²` where
//!    `|k|² > 0.1`, else 0 (so the mean and the longest waves are absent: at `N = 64`, scale
//!    10, every `|m|² ≤ 4`);
//! 3. the field `Re IFFT(c · w)`, divided by its standard deviation over the cells (population)
//!    and shifted to mean zero.
//!
//! The amplitude falls as `1/|m|²` (smoothness 1): fluctuations of about `N/scale` cells.
//! `Re IFFT(c · w)` is the inverse transform of the Hermitian part `½(c_m + conj(c_{−m})) w_m`,
//! which is what is formed here, on the half spectrum of [`crate::sim::fft2d`]. Draw order
//! from the scene's stream: for each cell of the frequency grid, row-major (`m_y`, then
//! `m_x`, FFT order), `a_m` then `b_m`, by the Box–Muller transform of two uniforms each.

use crate::sim::fft2d::{Fft2d, C64};
use crate::sim::{SceneRng, Vector};
use rand::Rng;

/// PhiFlow's `scale`: the size of the fluctuations, in cells.
pub const SCALE: f64 = 10.0;
/// PhiFlow's `lowest_frequency`: the weight is zero where `|k|² ≤ 0.1`.
pub const LOWEST_SQUARED_FREQUENCY: f64 = 0.1;

/// One standard normal number from two uniforms (Box–Muller, the cosine branch).
fn normal(rng: &mut SceneRng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>(); // (0, 1]: the logarithm is finite.
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The weight `w_m = 1/|k|²` (`|k|² > 0.1`, else 0) of integer frequency `m` on a side-`N`
/// grid, `k = scale · m / N`.
pub fn weight(m_x: f64, m_y: f64, side: usize) -> f64 {
    let k2 = (SCALE / side as f64).powi(2) * (m_x * m_x + m_y * m_y);
    if k2 > LOWEST_SQUARED_FREQUENCY {
        1.0 / k2
    } else {
        0.0
    }
}

/// Draws one field on the `N × N` grid (row-major), with the plans `fft` of that grid.
pub fn smooth_noise(fft: &Fft2d, rng: &mut SceneRng) -> Vector {
    let n = fft.side();
    let full: Vec<C64> = (0..n * n)
        .map(|_| C64::new(normal(rng), normal(rng)))
        .collect();
    // Entry (m_y, m_x) of the full grid is `full[m_y·N + m_x]`; the half spectrum keeps
    // `m_x ≤ N/2` at `m_x·N + m_y`.
    let mut spectrum = vec![C64::default(); fft.spectrum_len()];
    for (j, h) in spectrum.iter_mut().enumerate() {
        let (mx, my) = (j / n, j % n);
        let mirrored = full[((n - my) % n) * n + (n - mx) % n].conj();
        let (fx, fy) = fft.wave_vector(j);
        *h = (full[my * n + mx] + mirrored) * (0.5 * weight(fx * n as f64, fy * n as f64, n));
    }
    let mut field = Vector::zeros(n * n);
    fft.inverse(&mut spectrum, field.as_mut_slice());
    let std = field.variance().sqrt();
    if std > 0.0 {
        field /= std;
    }
    let mean = field.mean();
    field.add_scalar(-mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_weight_drops_the_longest_waves_and_falls_as_one_over_k_squared() {
        // At N = 64: |k|² = (10/64)² |m|² > 0.1 needs |m|² > 4.096.
        assert_eq!(weight(2.0, 0.0, 64), 0.0);
        assert_eq!(weight(1.0, 1.0, 64), 0.0);
        let w = weight(2.0, 1.0, 64);
        assert!((w - 1.0 / ((10.0f64 / 64.0).powi(2) * 5.0)).abs() < 1e-12);
        assert!((weight(4.0, 2.0, 64) - w / 4.0).abs() < 1e-12);
    }

    #[test]
    fn fields_have_unit_deviation_zero_mean_and_no_long_waves() {
        let n = 64;
        let fft = Fft2d::new(n);
        let mut rng = SceneRng::seed_from_u64(1);
        let field = smooth_noise(&fft, &mut rng);
        assert!(field.mean().abs() < 1e-12);
        assert!((field.variance() - 1.0).abs() < 1e-12);
        let mut spectrum = Vec::new();
        fft.forward(field.as_slice(), &mut spectrum);
        for (j, a) in spectrum.iter().enumerate() {
            let (fx, fy) = fft.wave_vector(j);
            if weight(fx * n as f64, fy * n as f64, n) == 0.0 {
                assert!(a.norm() < 1e-9, "frequency {j}: {a}");
            }
        }
        assert_ne!(field, smooth_noise(&fft, &mut rng));
    }
}
