//! The damped Fourier inverse of diffusion (docs/method.md §3.5; `tum-pbs/SIP`
//! `heat/inv_diffuse.py`), the local inverse of [`super::Heat2d`].
//!
//! Undoing diffusion multiplies frequency `k` by `exp(4π²|k|² ν t)`, which amplifies whatever
//! the change `Δy` holds at high frequencies beyond any use. The reference decides per
//! frequency whether `Δy`'s amplitude there is more likely signal or noise, and sharpens only
//! where it is signal:
//!
//! ```text
//! log_kernel = min(4π²|k|² ν t, 88)           (88 = ⌊ln f32::MAX⌋: no overflow)
//! amp        = FFT(Δy)                        (unnormalised)
//! f_unc      = sqrt(Σ_cells (1e-6 |Δy|)²)     (the noise amplitude, the same at every k)
//! expected   = N · exp(−log_kernel)           (the amplitude a signal would have)
//! s = ½ exp(−½ (|amp|/expected)²),  q = ½ exp(−½ (|amp|/f_unc)²),  p = s / (s + q)
//! action     = 2 (p − ½)  if p ≤ ½ or p ≥ 0.68,  else 0
//! Δx         = Re IFFT(amp · exp(log_kernel · action))
//! ```
//!
//! So a frequency that is likely signal (`p → 1`) is fully sharpened, one that is likely
//! noise (`p → 0`) is blurred once more, and one in between is left as it is. Degenerate
//! cases, handled as the reference's `divide_no_nan` and `where(isfinite)` do or would: `s + q
//! = 0` (both underflow) gives `p = 0`; a frequency with `amp = 0` contributes nothing to `Δx`
//! whatever its kernel, also when `f_unc = 0` (`Δy = 0`), where the reference would form
//! `0/0 = NaN`.
//!
//! Most frequencies are surely signal or surely noise (`action = ±1`): their factors
//! `exp(±log_kernel)` are formed once, so a call costs about one exponential per frequency.
//!
//! The reference clamps `log_kernel` at 88 only where it exponentiates it into the raw
//! sharpening kernel and uses the unclamped value in `expected` and `exp(log_kernel ·
//! action)`; docs/method.md §3.5 clamps it everywhere, which this module follows. The two
//! differ only at frequencies with `4π²|k|² ν t > 88`, where `expected < N e⁻⁸⁸` makes
//! `p ≈ 0`: the factor there is `≈ e⁻⁸⁸` here and smaller in the reference, both negligible.

use crate::sim::fft2d::C64;

/// Ceiling of the log-kernel, `⌊ln f32::MAX⌋ = 88`, as in the reference.
pub const LOG_KERNEL_CEILING: f64 = 88.0;
/// Per-cell uncertainty of `Δy` relative to `|Δy|`.
pub const RELATIVE_UNCERTAINTY: f64 = 1e-6;
/// Prior probability that an amplitude is signal.
pub const SIGNAL_PRIOR: f64 = 0.5;
/// Probability of signal from which a frequency is sharpened (about one standard deviation).
pub const SHARPEN_FROM: f64 = 0.68;

/// Exponent beyond which `exp(−x)` is zero in `f64` (the smallest subnormal is `e^−744.4`):
/// likelihoods past it are not evaluated, they are `0` either way.
const UNDERFLOW: f64 = 746.0;

/// The per-frequency constants of the damped inverse for one grid and diffusion amount.
#[derive(Debug, Clone)]
pub struct DampedInverse {
    /// `min(4π²|k|² ν t, 88)` per half-spectrum entry.
    log_kernel: Vec<f64>,
    /// `1/expected² = exp(2 log_kernel)/N²` per half-spectrum entry.
    inverse_expected_squared: Vec<f64>,
    /// `exp(log_kernel)`: the factor of a frequency that is surely signal (`action = 1`).
    sharpen: Vec<f64>,
    /// `exp(−log_kernel)`: the factor of a frequency that is surely noise (`action = −1`).
    blur: Vec<f64>,
}

impl DampedInverse {
    /// From `|k|²` (cycles² per cell²) per half-spectrum entry, the grid side `N` and the
    /// diffusion amount `ν t` (cells²).
    pub fn new(squared_frequencies: &[f64], side: usize, amount: f64) -> Self {
        let log_kernel: Vec<f64> = squared_frequencies
            .iter()
            .map(|k2| (4.0 * std::f64::consts::PI.powi(2) * k2 * amount).min(LOG_KERNEL_CEILING))
            .collect();
        let expected = |l: &f64| side as f64 * (-l).exp();
        DampedInverse {
            inverse_expected_squared: log_kernel.iter().map(|l| expected(l).powi(-2)).collect(),
            sharpen: log_kernel.iter().map(|l| l.exp()).collect(),
            blur: log_kernel.iter().map(|l| (-l).exp()).collect(),
            log_kernel,
        }
    }

    /// The log-kernel `min(4π²|k|² ν t, 88)` per half-spectrum entry.
    pub fn log_kernel(&self) -> &[f64] {
        &self.log_kernel
    }

    /// `amp ← amp · exp(log_kernel · action)` in place on the half spectrum `amp` of `Δy`,
    /// with noise amplitude `noise` (`f_unc`, [`noise_amplitude`]).
    pub fn apply(&self, amp: &mut [C64], noise: f64) {
        let inverse_noise_squared = noise.powi(-2); // +∞ for no noise
        for (j, a) in amp.iter_mut().enumerate() {
            let squared = a.norm_sqr();
            if squared == 0.0 {
                continue; // contributes nothing whatever the kernel
            }
            let p = signal_probability(
                squared * self.inverse_expected_squared[j],
                squared * inverse_noise_squared,
            );
            let action = action(p);
            if action == 1.0 {
                *a *= self.sharpen[j];
            } else if action == -1.0 {
                *a *= self.blur[j];
            } else if action != 0.0 {
                *a *= (self.log_kernel[j] * action).exp();
            }
        }
    }
}

/// `f_unc = sqrt(Σ_cells (1e-6 |Δy|)²) = 1e-6 ‖Δy‖` for a change of norm `norm` (`‖Δy‖₂`).
pub fn noise_amplitude(norm: f64) -> f64 {
    RELATIVE_UNCERTAINTY * norm
}

/// `p = s / (s + q)`, the probability that an amplitude `|amp|` is signal, from
/// `signal = (|amp|/expected)²` and `noise = (|amp|/f_unc)²` (`|amp| > 0`):
/// `s = ½ exp(−½ signal)`, `q = ½ exp(−½ noise)`; `0` where both underflow.
pub fn signal_probability(signal: f64, noise: f64) -> f64 {
    let likelihood = |prior: f64, squared_ratio: f64| {
        let x = 0.5 * squared_ratio;
        if x < UNDERFLOW {
            prior * (-x).exp()
        } else {
            0.0
        }
    };
    let s = likelihood(SIGNAL_PRIOR, signal);
    let q = likelihood(1.0 - SIGNAL_PRIOR, noise);
    if s + q > 0.0 {
        s / (s + q)
    } else {
        0.0
    }
}

/// `2 (p − ½)` if `p ≤ ½` or `p ≥ 0.68`, else 0: how far to sharpen (1), leave (0) or blur
/// again (−1).
pub fn action(p: f64) -> f64 {
    if p <= 0.5 || p >= SHARPEN_FROM {
        2.0 * (p - 0.5)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_sharpens_signal_blurs_noise_and_leaves_the_undecided() {
        assert_eq!(action(1.0), 1.0);
        assert_eq!(action(0.0), -1.0);
        assert_eq!(action(0.5), 0.0);
        assert_eq!(action(0.6), 0.0);
        assert!((action(0.68) - 0.36).abs() < 1e-15);
        assert!((action(0.25) + 0.5).abs() < 1e-15);
    }

    /// `p` from the squared ratios `(|amp|/expected)²` and `(|amp|/f_unc)²`.
    #[test]
    fn the_probability_compares_the_amplitude_with_signal_and_noise_scales() {
        // Within the signal scale, far above the noise: signal.
        assert_eq!(signal_probability(0.01, 1e6), 1.0);
        // Far above both scales: both likelihoods underflow, p = 0.
        assert_eq!(signal_probability(1e9, 1e9), 0.0);
        // Equal ratios: the prior decides.
        assert!((signal_probability(0.09, 0.09) - 0.5).abs() < 1e-15);
        // s = ½e⁻¹, q = ½e⁻²: p = 1/(1 + e⁻¹).
        let p = signal_probability(2.0, 4.0);
        assert!((p - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-15);
        // No noise (f_unc = 0): q = 0 and any representable signal is signal.
        assert_eq!(signal_probability(3.0, f64::INFINITY), 1.0);
    }

    /// `apply` multiplies by `exp(log_kernel · action)`, through its shortcuts too.
    #[test]
    fn apply_multiplies_by_the_damped_kernel() {
        let k2 = [0.0, 0.01, 0.02, 0.3];
        let inverse = DampedInverse::new(&k2, 8, 2.0);
        let amp = [
            C64::new(3.0, 0.0),
            C64::new(0.5, 0.5),
            C64::new(0.0, 1e-9),
            C64::new(1.0, 2.0),
        ];
        for noise in [0.0, 1e-6, 0.3] {
            let mut damped = amp;
            inverse.apply(&mut damped, noise);
            for j in 0..amp.len() {
                let l = inverse.log_kernel()[j];
                let expected = 8.0 * (-l).exp();
                let (m, f) = (amp[j].norm(), noise);
                let p = signal_probability((m / expected).powi(2), (m / f).powi(2));
                let want = amp[j] * (l * action(p)).exp();
                assert!(
                    (damped[j] - want).norm() <= 1e-12 * want.norm(),
                    "{j}, noise {noise}"
                );
            }
        }
    }

    #[test]
    fn the_log_kernel_is_clamped_at_88() {
        let inverse = DampedInverse::new(&[0.0, 1e-3, 0.5], 64, 8.0);
        let l = inverse.log_kernel();
        assert_eq!(l[0], 0.0);
        assert!((l[1] - 4.0 * std::f64::consts::PI.powi(2) * 8e-3).abs() < 1e-14);
        assert_eq!(l[2], LOG_KERNEL_CEILING);
    }
}
