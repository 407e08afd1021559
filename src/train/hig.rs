//! Half-inverse gradients and Gauss-Newton (Schnell, Holl & Thuerey, ICLR 2022; METHOD §4.5):
//! network and physics inverted jointly.
//!
//! Per iteration: the stacked residuals `r` of the batch and their parameter Jacobian
//! `𝒥 = ∂r/∂θ` ([`super::residuals`]); the thin SVD `𝒥 = U Σ Vᵀ`; singular values below
//! `truncation · σ_max` dropped; the direction `V Σ^(−κ) Uᵀ g` with `g = ∂ℓ/∂r` handed to the
//! optimizer (plain SGD in the references, so `Δθ = −lr · V Σ^(−κ) Uᵀ g`). `κ = ½` is HIG,
//! `κ = 1` Gauss-Newton (the truncated pseudo-inverse), `κ = 0` the gradient projected on the
//! kept singular directions.
//!
//! `ℓ = (1/B) Σ_b ‖r_b‖²`, the batch mean of the squared residuals (twice the objective's
//! `½‖r‖²` convention), so that `g = 2r/B` and the learning rates of the references carry over.
//!
//! The SVD is faer's (measured against nalgebra's on the oscillators' Jacobians: see
//! `benches/hig.rs`); it runs on one thread so the result does not depend on the thread
//! count.

use super::residuals::residual_jacobian;
use super::{Context, Update, UpdateRule, UpdateStats};
use crate::episode::Rollout;
use crate::net::{Mlp, ParamGrads};
use crate::sim::Scene;
use crate::values::NamedValues;
use nalgebra::{DMatrix, DVector};

/// Exponent `κ` of half-inverse gradients.
pub const HIG_EXPONENT: f64 = 0.5;
/// Exponent `κ` of Gauss-Newton.
pub const GAUSS_NEWTON_EXPONENT: f64 = 1.0;

/// The half-inverse-gradient family of update rules (exponent `κ`, relative truncation `τ`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hig {
    /// Singular values below `truncation · σ_max` are dropped.
    pub truncation: f64,
    /// `κ`: ½ for HIG, 1 for Gauss-Newton.
    pub exponent: f64,
}

/// The thin SVD of a Jacobian given as `𝒥ᵀ`, truncated.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Left singular vectors of `𝒥ᵀ` (= right singular vectors `V` of `𝒥`), `(P × k)`.
    v: DMatrix<f64>,
    /// Right singular vectors of `𝒥ᵀ` (= `U` of `𝒥`), `(R × k)`.
    u: DMatrix<f64>,
    /// The `k` kept singular values, non-increasing.
    sigma: Vec<f64>,
    /// Singular values before truncation.
    total: usize,
}

impl Spectrum {
    /// Thin SVD of `𝒥` from `jacobian_t = 𝒥ᵀ` (`P × R`), keeping `σ > truncation · σ_max`.
    pub fn new(jacobian_t: &DMatrix<f64>, truncation: f64) -> crate::Result<Spectrum> {
        let (p, r) = jacobian_t.shape();
        let (left, s, right) = thin_svd(jacobian_t).map_err(|e| crate::Error::Diverged {
            method: String::new(),
            iteration: 0,
            what: format!("SVD of the {r} × {p} residual Jacobian ({e:?})"),
        })?;
        let total = s.nrows();
        let sigma_max = if total > 0 { s[0] } else { 0.0 };
        let kept: Vec<f64> = (0..total)
            .map(|i| s[i])
            .take_while(|&v| v > truncation * sigma_max && v > 0.0)
            .collect();
        let k = kept.len();
        Ok(Spectrum {
            v: DMatrix::from_fn(p, k, |i, j| left[(i, j)]),
            u: DMatrix::from_fn(r, k, |i, j| right[(i, j)]),
            sigma: kept,
            total,
        })
    }

    /// `V Σ^(−κ) Uᵀ g` over the kept singular values.
    pub fn apply(&self, g: &DVector<f64>, exponent: f64) -> DVector<f64> {
        let mut coefficients = self.u.tr_mul(g);
        for (c, s) in coefficients.iter_mut().zip(&self.sigma) {
            *c *= s.powf(-exponent);
        }
        &self.v * coefficients
    }

    /// Largest singular value (0 for an empty Jacobian).
    pub fn sigma_max(&self) -> f64 {
        self.sigma.first().copied().unwrap_or(0.0)
    }

    /// Smallest kept singular value.
    pub fn sigma_min_kept(&self) -> f64 {
        self.sigma.last().copied().unwrap_or(0.0)
    }

    /// Number of kept singular values.
    pub fn kept(&self) -> usize {
        self.sigma.len()
    }

    /// Number of singular values before truncation (`min(R, P)`).
    pub fn total(&self) -> usize {
        self.total
    }
}

/// faer's thin SVD `A = U diag(s) Vᵀ` of a column-major `nalgebra` matrix, on one thread.
fn thin_svd(
    a: &DMatrix<f64>,
) -> Result<(faer::Mat<f64>, faer::Col<f64>, faer::Mat<f64>), faer::linalg::svd::SvdError> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
    let (rows, cols) = a.shape();
    let size = rows.min(cols);
    let view = faer::MatRef::from_column_major_slice(a.as_slice(), rows, cols);
    let mut u = faer::Mat::<f64>::zeros(rows, size);
    let mut v = faer::Mat::<f64>::zeros(cols, size);
    let mut s = faer::diag::Diag::<f64>::zeros(size);
    let par = faer::Par::Seq;
    let thin = ComputeSvdVectors::Thin;
    let mut buffer = MemBuffer::new(svd_scratch::<f64>(
        rows,
        cols,
        thin,
        thin,
        par,
        Default::default(),
    ));
    svd(
        view,
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        par,
        MemStack::new(&mut buffer),
        Default::default(),
    )?;
    Ok((u, s.column_vector().to_owned(), v))
}

impl UpdateRule for Hig {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &Mlp,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update> {
        let residuals = residual_jacobian(ctx, net, scenes, rollout)?;
        let g = &residuals.values * (2.0 / scenes.len().max(1) as f64);
        let spectrum = Spectrum::new(&residuals.jacobian, self.truncation)?;
        let direction = spectrum.apply(&g, self.exponent);
        let values: Vec<f32> = direction.iter().map(|&v| v as f32).collect();
        let grads = ParamGrads::from_vec(net, &values)?;
        let mut diagnostics = NamedValues::default();
        diagnostics.push("residual_rows", residuals.values.len() as f64);
        diagnostics.push("sigma_max", spectrum.sigma_max());
        diagnostics.push("sigma_min_kept", spectrum.sigma_min_kept());
        diagnostics.push("singular_kept", spectrum.kept() as f64);
        Ok(Update {
            grads,
            stats: UpdateStats::default(),
            diagnostics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `𝒥ᵀ` of a diagonal `𝒥 = diag(σ)` padded with zero parameter columns.
    fn diagonal(sigma: &[f64], parameters: usize) -> DMatrix<f64> {
        DMatrix::from_fn(
            parameters,
            sigma.len(),
            |p, r| if p == r { sigma[r] } else { 0.0 },
        )
    }

    #[test]
    fn half_inverse_of_a_diagonal_jacobian_is_the_closed_form() {
        let sigma = [4.0, 0.25, 9.0];
        let spectrum = Spectrum::new(&diagonal(&sigma, 5), 0.0).unwrap();
        assert_eq!((spectrum.kept(), spectrum.total()), (3, 3));
        assert_eq!(spectrum.sigma_max(), 9.0);
        let g = DVector::from_vec(vec![1.0, -2.0, 3.0]);
        let step = spectrum.apply(&g, HIG_EXPONENT);
        let want = [1.0 / 2.0, -2.0 / 0.5, 3.0 / 3.0, 0.0, 0.0];
        for (got, want) in step.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        // κ = 1 is the pseudo-inverse, κ = 0 the projected gradient.
        let gn = spectrum.apply(&g, GAUSS_NEWTON_EXPONENT);
        assert!((gn[1] + 8.0).abs() < 1e-12 && (gn[2] - 1.0 / 3.0).abs() < 1e-12);
        let projected = spectrum.apply(&g, 0.0);
        assert!((projected[1] + 2.0).abs() < 1e-12);
    }

    #[test]
    fn truncation_drops_small_singular_values_only() {
        let sigma = [1.0, 1e-3, 1e-12];
        let spectrum = Spectrum::new(&diagonal(&sigma, 3), 1e-6).unwrap();
        assert_eq!((spectrum.kept(), spectrum.total()), (2, 3));
        assert_eq!(spectrum.sigma_min_kept(), 1e-3);
        let step = spectrum.apply(&DVector::from_element(3, 1.0), GAUSS_NEWTON_EXPONENT);
        assert!((step[0] - 1.0).abs() < 1e-12 && (step[1] - 1e3).abs() < 1e-6);
        assert_eq!(step[2], 0.0, "the dropped direction gets no update");
    }

    #[test]
    fn an_empty_jacobian_gives_a_zero_step() {
        let spectrum = Spectrum::new(&DMatrix::zeros(4, 2), 1e-10).unwrap();
        assert_eq!(spectrum.kept(), 0);
        assert_eq!(
            spectrum.apply(&DVector::from_element(2, 1.0), 0.5).norm(),
            0.0
        );
    }
}
