//! Two-dimensional FFTs of real `N × N` periodic fields, for the 2D field simulators.
//!
//! A field is stored row-major (`y` then `x`: entry `y·N + x`, the layout of a one-channel
//! [`crate::layout::Grid`]). Its spectrum is the half spectrum of a real signal: `N/2 + 1`
//! frequencies `kx = 0..=N/2` by `N` frequencies `ky` (FFT order `0, 1, …, −1`), stored
//! column by column — entry `kx·N + ky` — so that the FFTs along `y` run on contiguous
//! memory. The forward transform is unnormalised (numpy's `fft2` restricted to `kx ≤ N/2`);
//! the inverse divides by `N²`, so that `inverse(forward(x)) = x`.
//!
//! Rows are transformed by realfft (real to half-complex), columns by rustfft (complex).
//! Plans are made once per size; work buffers are per thread and reused, so a transform
//! allocates nothing once warm.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};
use std::cell::RefCell;
use std::sync::Arc;

/// Complex `f64`, the element of a spectrum.
pub type C64 = Complex<f64>;

/// Per-thread work buffers of [`Fft2d`]: one row, its half spectrum and the FFTs' scratch.
#[derive(Default)]
struct Scratch {
    row: Vec<f64>,
    row_spectrum: Vec<C64>,
    fft: Vec<C64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Plans of the 2D real FFT of `N × N` fields (see the [module](self)).
#[derive(Clone)]
pub struct Fft2d {
    n: usize,
    rows_forward: Arc<dyn RealToComplex<f64>>,
    rows_inverse: Arc<dyn ComplexToReal<f64>>,
    columns_forward: Arc<dyn Fft<f64>>,
    columns_inverse: Arc<dyn Fft<f64>>,
    scratch_len: usize,
}

impl std::fmt::Debug for Fft2d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2d").field("n", &self.n).finish()
    }
}

impl Fft2d {
    /// Plans the transforms of `n × n` fields (`n ≥ 1`).
    pub fn new(n: usize) -> Self {
        let rows_forward = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        let rows_inverse = RealFftPlanner::<f64>::new().plan_fft_inverse(n);
        let mut planner = FftPlanner::<f64>::new();
        let columns_forward = planner.plan_fft_forward(n);
        let columns_inverse = planner.plan_fft_inverse(n);
        let scratch_len = [
            rows_forward.get_scratch_len(),
            rows_inverse.get_scratch_len(),
            columns_forward.get_inplace_scratch_len(),
            columns_inverse.get_inplace_scratch_len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        Fft2d {
            n,
            rows_forward,
            rows_inverse,
            columns_forward,
            columns_inverse,
            scratch_len,
        }
    }

    /// The side `N` of the fields.
    pub fn side(&self) -> usize {
        self.n
    }

    /// Number of frequencies `kx` kept, `N/2 + 1`.
    pub fn half(&self) -> usize {
        self.n / 2 + 1
    }

    /// Entries of a half spectrum, `(N/2 + 1)·N`.
    pub fn spectrum_len(&self) -> usize {
        self.half() * self.n
    }

    /// The signed FFT frequency of index `i` in cycles per cell: `i/N` for `i < N/2`
    /// (`i ≤ N/2` for odd `N`), else `(i − N)/N` (numpy's `fftfreq(N)`: the Nyquist frequency
    /// of an even `N` is `−½`).
    pub fn frequency(&self, i: usize) -> f64 {
        let n = self.n as f64;
        if i < self.n.div_ceil(2) {
            i as f64 / n
        } else {
            (i as f64 - n) / n
        }
    }

    /// `(kx, ky)` in cycles per cell of half-spectrum entry `j` (`j = kx·N + ky`). `kx`
    /// is the non-negative index `j / N` over `N`, as realfft keeps it.
    pub fn wave_vector(&self, j: usize) -> (f64, f64) {
        let (kx, ky) = (j / self.n, j % self.n);
        (kx as f64 / self.n as f64, self.frequency(ky))
    }

    /// `|k|²` in cycles² per cell² of every half-spectrum entry, in spectrum order.
    pub fn squared_frequencies(&self) -> Vec<f64> {
        (0..self.spectrum_len())
            .map(|j| {
                let (kx, ky) = self.wave_vector(j);
                kx * kx + ky * ky
            })
            .collect()
    }

    /// `Σ_cells v²` of the field `v` whose half spectrum is `spectrum` (Parseval: `Σ |v̂|²/N²`
    /// over the full spectrum, whose columns `0 < kx < N/2` the half spectrum holds once for
    /// two).
    pub fn squared_norm(&self, spectrum: &[C64]) -> f64 {
        let n = self.n;
        let sum: f64 = spectrum
            .chunks_exact(n)
            .enumerate()
            .map(|(kx, column)| {
                let twice = kx > 0 && 2 * kx != n;
                let s: f64 = column.iter().map(|a| a.norm_sqr()).sum();
                if twice {
                    2.0 * s
                } else {
                    s
                }
            })
            .sum();
        sum / (n * n) as f64
    }

    /// `spectrum ← FFT(field)`: the half spectrum (length [`Fft2d::spectrum_len`], resized if
    /// needed) of the real `N × N` field (length `N²`), unnormalised.
    pub fn forward(&self, field: &[f64], spectrum: &mut Vec<C64>) {
        let (n, half) = (self.n, self.half());
        debug_assert_eq!(field.len(), n * n);
        spectrum.resize(self.spectrum_len(), C64::default());
        SCRATCH.with(|cell| {
            let sc = &mut *cell.borrow_mut();
            self.fit(sc);
            for (y, row) in field.chunks_exact(n).enumerate() {
                sc.row.copy_from_slice(row);
                self.rows_forward
                    .process_with_scratch(&mut sc.row, &mut sc.row_spectrum, &mut sc.fft)
                    .expect("buffers sized by the plan");
                for kx in 0..half {
                    spectrum[kx * n + y] = sc.row_spectrum[kx];
                }
            }
            self.columns_forward
                .process_with_scratch(spectrum, &mut sc.fft);
        });
    }

    /// `field ← IFFT(spectrum)` (divided by `N²`): the real field of a half spectrum, which
    /// is used as work space (its contents are garbage afterwards). The imaginary parts the
    /// half spectrum of a real field cannot have (those of the `kx = 0` column's inverse and,
    /// for even `N`, of the Nyquist column's) are dropped: they are round-off.
    pub fn inverse(&self, spectrum: &mut [C64], field: &mut [f64]) {
        let (n, half) = (self.n, self.half());
        debug_assert_eq!(spectrum.len(), self.spectrum_len());
        debug_assert_eq!(field.len(), n * n);
        let scale = 1.0 / (n * n) as f64;
        SCRATCH.with(|cell| {
            let sc = &mut *cell.borrow_mut();
            self.fit(sc);
            self.columns_inverse
                .process_with_scratch(spectrum, &mut sc.fft);
            for (y, row) in field.chunks_exact_mut(n).enumerate() {
                for kx in 0..half {
                    sc.row_spectrum[kx] = spectrum[kx * n + y] * scale;
                }
                sc.row_spectrum[0].im = 0.0;
                if n % 2 == 0 {
                    sc.row_spectrum[half - 1].im = 0.0;
                }
                self.rows_inverse
                    .process_with_scratch(&mut sc.row_spectrum, row, &mut sc.fft)
                    .expect("buffers sized by the plan, real-field imaginary parts zeroed");
            }
        });
    }

    /// Sizes this thread's work buffers for `N`.
    fn fit(&self, sc: &mut Scratch) {
        sc.row.resize(self.n, 0.0);
        sc.row_spectrum.resize(self.half(), C64::default());
        if sc.fft.len() < self.scratch_len {
            sc.fft.resize(self.scratch_len, C64::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// The 2D DFT by its definition, at `(kx, ky)`.
    fn dft(field: &[f64], n: usize, kx: usize, ky: usize) -> C64 {
        let mut sum = C64::default();
        for y in 0..n {
            for x in 0..n {
                let phase = -2.0 * PI * ((kx * x + ky * y) % n) as f64 / n as f64;
                sum += C64::from_polar(field[y * n + x], phase);
            }
        }
        sum
    }

    fn field(n: usize) -> Vec<f64> {
        (0..n * n)
            .map(|i| ((i * 7919) % 101) as f64 / 50.0 - 1.0)
            .collect()
    }

    /// The forward transform is the DFT's half spectrum, Parseval's sum gives the field's
    /// squared norm, and the inverse undoes the transform, for even and odd sides.
    #[test]
    fn forward_is_the_dft_and_inverse_undoes_it() {
        for n in [1, 4, 5, 8, 9] {
            let fft = Fft2d::new(n);
            let x = field(n);
            let mut spectrum = Vec::new();
            fft.forward(&x, &mut spectrum);
            for kx in 0..fft.half() {
                for ky in 0..n {
                    let exact = dft(&x, n, kx, ky);
                    assert!(
                        (spectrum[kx * n + ky] - exact).norm() < 1e-12 * (n * n) as f64,
                        "n = {n}, ({kx}, {ky})"
                    );
                }
            }
            let norm: f64 = x.iter().map(|v| v * v).sum();
            assert!(
                (fft.squared_norm(&spectrum) - norm).abs() < 1e-12 * norm,
                "n = {n}"
            );
            let mut back = vec![0.0; n * n];
            fft.inverse(&mut spectrum, &mut back);
            for (a, b) in back.iter().zip(&x) {
                assert!((a - b).abs() < 1e-14, "n = {n}: {a} against {b}");
            }
        }
    }

    /// Frequencies follow numpy's `fftfreq`: `[0, 1, 2, −3, −2, −1]/6` and `[0, 1, 2, −2, −1]/5`.
    #[test]
    fn frequencies_are_numpys_fftfreq() {
        let six: Vec<f64> = (0..6).map(|i| Fft2d::new(6).frequency(i) * 6.0).collect();
        assert_eq!(six, [0.0, 1.0, 2.0, -3.0, -2.0, -1.0]);
        let five: Vec<f64> = (0..5).map(|i| Fft2d::new(5).frequency(i) * 5.0).collect();
        assert_eq!(five, [0.0, 1.0, 2.0, -2.0, -1.0]);
    }
}
