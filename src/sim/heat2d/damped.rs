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
//! = 0` (both underflow) gives `p = 0`; a frequency with `amp = 0` has `|amp|/f_unc = 0` also
//! when `f_unc = 0` (`Δy = 0`), where the reference would produce `0/0 = NaN`: it then
//! contributes nothing to `Δx` whatever its kernel.
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

/// The per-frequency constants of the damped inverse for one grid and diffusion amount.
#[derive(Debug, Clone)]
pub struct DampedInverse {
    /// `min(4π²|k|² ν t, 88)` per half-spectrum entry.
    log_kernel: Vec<f64>,
    /// `N exp(−log_kernel)` per half-spectrum entry.
    expected: Vec<f64>,
}

impl DampedInverse {
    /// From `|k|²` (cycles² per cell²) per half-spectrum entry, the grid side `N` and the
    /// diffusion amount `ν t` (cells²).
    pub fn new(squared_frequencies: &[f64], side: usize, amount: f64) -> Self {
        let log_kernel: Vec<f64> = squared_frequencies
            .iter()
            .map(|k2| (4.0 * std::f64::consts::PI.powi(2) * k2 * amount).min(LOG_KERNEL_CEILING))
            .collect();
        let expected = log_kernel
            .iter()
            .map(|l| side as f64 * (-l).exp())
            .collect();
        DampedInverse {
            log_kernel,
            expected,
        }
    }

    /// The log-kernel `min(4π²|k|² ν t, 88)` per half-spectrum entry.
    pub fn log_kernel(&self) -> &[f64] {
        &self.log_kernel
    }

    /// `amp ← amp · exp(log_kernel · action)` in place on the half spectrum `amp` of `Δy`,
    /// with noise amplitude `noise` (`f_unc`).
    pub fn apply(&self, amp: &mut [C64], noise: f64) {
        for ((a, &l), &e) in amp.iter_mut().zip(&self.log_kernel).zip(&self.expected) {
            let magnitude = a.norm();
            if magnitude > 0.0 {
                *a *= (l * action(signal_probability(magnitude, e, noise))).exp();
            }
        }
    }
}

/// `f_unc = sqrt(Σ_cells (1e-6 |Δy|)²)` of a change `Δy`.
pub fn noise_amplitude(dy: &[f64]) -> f64 {
    RELATIVE_UNCERTAINTY * dy.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// `p = s / (s + q)`: the probability that amplitude `magnitude` (`|amp|`) is signal, with
/// `s = ½ exp(−½ (|amp|/expected)²)`, `q = ½ exp(−½ (|amp|/noise)²)`; `0` where both
/// underflow, and `|amp|/noise = 0` for `|amp| = 0`.
pub fn signal_probability(magnitude: f64, expected: f64, noise: f64) -> f64 {
    let ratio = |scale: f64| {
        if magnitude == 0.0 {
            0.0
        } else {
            magnitude / scale
        }
    };
    let s = SIGNAL_PRIOR * (-0.5 * ratio(expected).powi(2)).exp();
    let s = if s.is_finite() { s } else { 0.0 };
    let q = (1.0 - SIGNAL_PRIOR) * (-0.5 * ratio(noise).powi(2)).exp();
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

    #[test]
    fn the_probability_compares_the_amplitude_with_signal_and_noise_scales() {
        // Far above the noise and within the signal scale: signal.
        assert!(signal_probability(1.0, 10.0, 1e-3) > 0.999);
        // Far above the signal scale and the noise: both underflow, p = 0.
        assert_eq!(signal_probability(1e6, 1e-3, 1e-3), 0.0);
        // Equal scales: the prior decides.
        assert!((signal_probability(0.3, 1.0, 1.0) - 0.5).abs() < 1e-15);
        // A zero amplitude with zero noise is the prior, not NaN.
        assert_eq!(signal_probability(0.0, 1.0, 0.0), 0.5);
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
