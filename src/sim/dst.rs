//! The two-dimensional discrete sine transform (DST-I) of `N × N` fields, by real FFTs: the
//! eigenbasis of the 5-point Laplacian with zero Dirichlet values one cell beyond the grid
//! ([`super::poisson2d`]).
//!
//! Along one axis the DST-I of `v_0 … v_{N−1}` is
//!
//! ```text
//! S(v)_k = Σ_n v_n sin(π (n + 1)(k + 1) / (N + 1)),   k = 0 … N−1,
//! ```
//!
//! its own inverse up to a factor: `S(S(v)) = (N + 1)/2 · v`. It is computed as the imaginary
//! part of the real FFT of the odd extension `z = (0, v, 0, −reversed v)` of length
//! `M = 2(N + 1)`: `Z_k = −2i S(v)_{k−1}` for `k = 1 … N`, so `O(N log N)` per line (realfft
//! plans `M` with its own factors: `M = 130` for `N = 64` is `2·5·13`). A dense `N × N` sine
//! matrix per line costs `O(N²)`; FFTW's dedicated DST is a C library; a real FFT of twice the
//! length is what realfft offers in pure Rust.
//!
//! Fields are row-major (entry `y·N + x`). [`Dst2d::transform`] applies `S` along `x` and then
//! along `y` (each pass transforms rows and writes them transposed, so two passes restore the
//! orientation): coefficient `(ky, kx)` lands at entry `ky·N + kx`.

use super::fft2d::C64;
use realfft::{RealFftPlanner, RealToComplex};
use std::cell::RefCell;
use std::sync::Arc;

/// Per-thread work buffers: the odd extension, its spectrum, the FFT's scratch and the
/// half-transformed field.
#[derive(Default)]
struct Scratch {
    extended: Vec<f64>,
    spectrum: Vec<C64>,
    fft: Vec<C64>,
    half: Vec<f64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The plan of the 2D DST-I of `N × N` fields (see the [module](self)).
#[derive(Clone)]
pub struct Dst2d {
    n: usize,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl std::fmt::Debug for Dst2d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dst2d").field("n", &self.n).finish()
    }
}

impl Dst2d {
    /// Plans the transform of `n × n` fields (`n ≥ 1`).
    pub fn new(n: usize) -> Self {
        Dst2d {
            n,
            fft: RealFftPlanner::<f64>::new().plan_fft_forward(2 * (n + 1)),
        }
    }

    /// `(N + 1)/2`: applying the transform twice multiplies by its square.
    pub fn self_inverse_factor(&self) -> f64 {
        (self.n + 1) as f64 / 2.0
    }

    /// `out ← (S ⊗ S) field`: the unnormalised 2D DST-I of the row-major `N × N` field (both
    /// of length `N²`; `out` must not be `field`).
    pub fn transform(&self, field: &[f64], out: &mut [f64]) {
        let cells = self.n * self.n;
        debug_assert_eq!(field.len(), cells);
        debug_assert_eq!(out.len(), cells);
        SCRATCH.with(|cell| {
            let sc = &mut *cell.borrow_mut();
            let mut half = std::mem::take(&mut sc.half);
            half.resize(cells, 0.0);
            self.rows_transposed(field, &mut half, sc);
            self.rows_transposed(&half, out, sc);
            sc.half = half;
        });
    }

    /// `out[k·N + y] ← S(row y of src)_k`: one pass, written transposed.
    fn rows_transposed(&self, src: &[f64], out: &mut [f64], sc: &mut Scratch) {
        let n = self.n;
        let m = 2 * (n + 1);
        sc.extended.resize(m, 0.0);
        sc.spectrum.resize(m / 2 + 1, C64::default());
        sc.fft.resize(self.fft.get_scratch_len(), C64::default());
        for (y, row) in src.chunks_exact(n).enumerate() {
            let z = &mut sc.extended;
            z[0] = 0.0;
            z[n + 1] = 0.0;
            for (i, &v) in row.iter().enumerate() {
                z[i + 1] = v;
                z[m - 1 - i] = -v;
            }
            self.fft
                .process_with_scratch(z, &mut sc.spectrum, &mut sc.fft)
                .expect("buffers sized by the plan");
            for k in 0..n {
                out[k * n + y] = -0.5 * sc.spectrum[k + 1].im;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// The DST-I by its definition along both axes.
    fn dst_by_definition(field: &[f64], n: usize) -> Vec<f64> {
        let s = |a: usize, b: usize| (PI * ((a + 1) * (b + 1)) as f64 / (n + 1) as f64).sin();
        (0..n * n)
            .map(|j| {
                let (ky, kx) = (j / n, j % n);
                (0..n * n)
                    .map(|i| field[i] * s(i / n, ky) * s(i % n, kx))
                    .sum()
            })
            .collect()
    }

    #[test]
    fn the_transform_is_the_definition_and_its_own_inverse_up_to_a_factor() {
        for n in [1, 2, 5, 8] {
            let dst = Dst2d::new(n);
            let field: Vec<f64> = (0..n * n).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
            let mut out = vec![0.0; n * n];
            dst.transform(&field, &mut out);
            for (a, b) in out.iter().zip(dst_by_definition(&field, n)) {
                assert!((a - b).abs() < 1e-11, "n = {n}: {a} against {b}");
            }
            let mut back = vec![0.0; n * n];
            dst.transform(&out, &mut back);
            let factor = dst.self_inverse_factor().powi(2);
            for (a, b) in back.iter().zip(&field) {
                assert!((a / factor - b).abs() < 1e-12, "n = {n}");
            }
        }
    }
}
