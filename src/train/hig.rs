//! Half-inverse gradients and Gauss-Newton (Schnell, Holl & Thuerey, ICLR 2022; docs/method.md §4.5):
//! network and physics inverted jointly.
//!
//! Per iteration: the stacked residuals `r` of the batch and their parameter Jacobian
//! `𝒥 = ∂r/∂θ` ([`super::residuals`]); the thin SVD `𝒥 = U Σ Vᵀ`; singular values below
//! `truncation · σ_max` dropped; the direction `V Σ^(−κ) Uᵀ g` with `g = ∂ℓ/∂r` handed to the
//! optimizer (plain SGD in the references, so `Δθ = −lr · V Σ^(−κ) Uᵀ g`). `κ = ½` is HIG,
//! `κ = 1` Gauss-Newton (the truncated pseudo-inverse), `κ = −1` the gradient `𝒥ᵀ g` restricted
//! to the kept singular directions, and `κ = 0` the step `V Uᵀ g` with every kept singular
//! value set to one (not the gradient).
//!
//! `ℓ = (1/B) Σ_b ‖r_b‖²`, the batch mean of the squared residuals (twice the objective's
//! `½‖r‖²` convention), so that `g = 2r/B` and the learning rates of the references carry over.
//!
//! The spectrum comes from the Gram matrix `𝒥𝒥ᵀ` or, when its kept range is too wide, from
//! faer's thin SVD ([`Route`]); faer was chosen over nalgebra on measured times (thin SVD of a
//! 128 × 1444 Jacobian 24 ms vs 91 ms, 512 × 2956 529 ms vs 4650 ms, one thread). Both run on
//! one thread so the result does not depend on the thread count.

use super::gathered::Gathered;
use super::residuals::residual_jacobian;
use super::rules::{ensure, require, Problem, RuleSpec};
use super::{Context, Update, UpdateRule, UpdateStats};
use crate::episode::Rollout;
use crate::memory::{product, MemoryPart, F64_BYTES};
use crate::net::Network;
use crate::sim::ParamError;
use crate::sim::Scene;
use crate::values::NamedValues;
use faer::linalg::matmul::triangular::BlockStructure;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// Above this ratio `σ_max / σ_min_kept` the singular values from the Gram matrix `𝒥𝒥ᵀ` are
/// not trusted (their relative error grows like `ε (σ_max/σ)²`, 1e-4 here) and the SVD of `𝒥`
/// itself is computed.
pub const GRAM_CONDITION_LIMIT: f64 = 1e6;

/// Parameters per block of the Gram matrix's products: a stop request is honoured between
/// blocks. Networks up to this size (every one the references use) take one block, so their
/// Gram matrix is summed exactly as in one product.
pub const GRAM_BLOCK_ROWS: usize = 1 << 16;

/// How a [`Spectrum`] was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Eigen-decomposition of the `(R × R)` Gram matrix `𝒥𝒥ᵀ = U Σ² Uᵀ`, with
    /// `V = 𝒥ᵀ U Σ⁻¹` applied implicitly: `R P` multiply-adds for the Gram matrix and `O(R³)`
    /// for the eigen-decomposition, about six times faster than the SVD at the oscillators'
    /// sizes.
    Gram,
    /// faer's thin SVD of `𝒥` (when the kept spectrum is too wide for the Gram route).
    Svd,
}

/// The thin SVD `𝒥 = U Σ Vᵀ` of a Jacobian given as `𝒥ᵀ`, truncated.
#[derive(Debug, Clone)]
pub struct Spectrum<'a> {
    jacobian_t: &'a DMatrix<f64>,
    /// `U`, `(R × k)`.
    u: DMatrix<f64>,
    /// `V`, `(P × k)`, from the SVD route; the Gram route applies `𝒥ᵀ U Σ⁻¹` instead.
    v: Option<DMatrix<f64>>,
    /// The `k` kept singular values, non-increasing.
    sigma: Vec<f64>,
    /// Singular values before truncation.
    total: usize,
    route: Route,
}

impl<'a> Spectrum<'a> {
    /// Thin SVD of `𝒥` from `jacobian_t = 𝒥ᵀ` (`P × R`), keeping `σ > truncation · σ_max`:
    /// through the Gram matrix when the kept spectrum allows ([`GRAM_CONDITION_LIMIT`]), else
    /// by faer's SVD. A `stop` request is honoured between blocks of the Gram matrix's
    /// products and before the SVD ([`crate::Error::Stopped`]); the SVD itself runs to its end.
    pub fn new(
        jacobian_t: &'a DMatrix<f64>,
        truncation: f64,
        stop: Option<&AtomicBool>,
    ) -> crate::Result<Spectrum<'a>> {
        let gram = Self::from_gram(jacobian_t, truncation, stop)?;
        if gram.sigma_max() <= GRAM_CONDITION_LIMIT * gram.sigma_min_kept() {
            Ok(gram)
        } else {
            if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(crate::Error::Stopped);
            }
            Self::from_svd(jacobian_t, truncation)
        }
    }

    /// The Gram route ([`Route::Gram`]). The Gram matrix is summed over blocks of
    /// [`GRAM_BLOCK_ROWS`] parameters, checking `stop` between them.
    pub fn from_gram(
        jacobian_t: &'a DMatrix<f64>,
        truncation: f64,
        stop: Option<&AtomicBool>,
    ) -> crate::Result<Spectrum<'a>> {
        let (p, r) = jacobian_t.shape();
        let view = faer::MatRef::from_column_major_slice(jacobian_t.as_slice(), p, r);
        // Only the lower triangle: half the multiply-adds, and all the eigen-solver reads.
        let mut gram = faer::Mat::<f64>::zeros(r, r);
        for start in (0..p).step_by(GRAM_BLOCK_ROWS) {
            if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Err(crate::Error::Stopped);
            }
            let block = view.subrows(start, GRAM_BLOCK_ROWS.min(p - start));
            faer::linalg::matmul::triangular::matmul(
                gram.as_mut(),
                BlockStructure::TriangularLower,
                if start == 0 {
                    faer::Accum::Replace
                } else {
                    faer::Accum::Add
                },
                block.transpose(),
                BlockStructure::Rectangular,
                block,
                BlockStructure::Rectangular,
                1.0,
                faer::Par::Seq,
            );
        }
        let eigen = gram
            .self_adjoint_eigen(faer::Side::Lower)
            .map_err(|e| spectrum_error("eigen-decomposition of the Gram matrix", r, p, e))?;
        let (values, vectors) = (eigen.S().column_vector(), eigen.U());
        let mut order: Vec<usize> = (0..r).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let sigma: Vec<f64> = order.iter().map(|&i| values[i].max(0.0).sqrt()).collect();
        let k = kept(&sigma, truncation);
        Ok(Spectrum {
            jacobian_t,
            u: DMatrix::from_fn(r, k, |i, j| vectors[(i, order[j])]),
            v: None,
            sigma: sigma[..k].to_vec(),
            total: r.min(p),
            route: Route::Gram,
        })
    }

    /// The SVD route ([`Route::Svd`]).
    pub fn from_svd(jacobian_t: &'a DMatrix<f64>, truncation: f64) -> crate::Result<Spectrum<'a>> {
        let (p, r) = jacobian_t.shape();
        let (left, s, right) = thin_svd(jacobian_t).map_err(|e| spectrum_error("SVD", r, p, e))?;
        let sigma: Vec<f64> = s.iter().copied().collect();
        let k = kept(&sigma, truncation);
        Ok(Spectrum {
            jacobian_t,
            u: DMatrix::from_fn(r, k, |i, j| right[(i, j)]),
            v: Some(DMatrix::from_fn(p, k, |i, j| left[(i, j)])),
            sigma: sigma[..k].to_vec(),
            total: sigma.len(),
            route: Route::Svd,
        })
    }

    /// `V Σ^(−κ) Uᵀ g` over the kept singular values.
    pub fn apply(&self, g: &DVector<f64>, exponent: f64) -> DVector<f64> {
        let mut coefficients = self.u.tr_mul(g);
        for (c, s) in coefficients.iter_mut().zip(&self.sigma) {
            *c *= s.powf(-exponent);
        }
        match &self.v {
            Some(v) => v * coefficients,
            None => {
                for (c, s) in coefficients.iter_mut().zip(&self.sigma) {
                    *c /= s;
                }
                self.jacobian_t * (&self.u * coefficients)
            }
        }
    }

    /// How the spectrum was computed.
    pub fn route(&self) -> Route {
        self.route
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

/// Number of leading (non-increasing) singular values above `truncation · σ_max` and 0.
fn kept(sigma: &[f64], truncation: f64) -> usize {
    let sigma_max = sigma.first().copied().unwrap_or(0.0);
    sigma
        .iter()
        .take_while(|&&v| v > truncation * sigma_max && v > 0.0)
        .count()
}

fn spectrum_error(what: &str, r: usize, p: usize, e: impl std::fmt::Debug) -> crate::Error {
    crate::Error::Diverged {
        method: String::new(),
        iteration: 0,
        what: format!("{what} of the {r} × {p} residual Jacobian ({e:?})"),
    }
}

/// `(U, s, V)` of a thin SVD.
type ThinSvd = (faer::Mat<f64>, faer::Col<f64>, faer::Mat<f64>);

/// faer's thin SVD `A = U diag(s) Vᵀ` of a column-major `nalgebra` matrix, on one thread.
fn thin_svd(a: &DMatrix<f64>) -> Result<ThinSvd, faer::linalg::svd::SvdError> {
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

impl Hig {
    /// The update from the batch's stacked residuals `values` and their Jacobian
    /// `jacobian_t = 𝒥ᵀ` `(P × R)`, for a batch of `batch` episodes.
    fn step(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        values: &DVector<f64>,
        jacobian_t: &DMatrix<f64>,
        batch: usize,
    ) -> crate::Result<Update> {
        let g = values * (2.0 / batch.max(1) as f64);
        let spectrum = Spectrum::new(jacobian_t, self.truncation, ctx.stop)?;
        let direction = spectrum.apply(&g, self.exponent);
        let values_f32: Vec<f32> = direction.iter().map(|&v| v as f32).collect();
        let grads = net.grads_from_vec(&values_f32)?;
        let mut diagnostics = NamedValues::default();
        diagnostics.push("residual_rows", values.len() as f64);
        diagnostics.push("sigma_max", spectrum.sigma_max());
        diagnostics.push("sigma_min_kept", spectrum.sigma_min_kept());
        diagnostics.push("singular_kept", spectrum.kept() as f64);
        diagnostics.push(
            "svd_route",
            f64::from(u8::from(spectrum.route() == Route::Svd)),
        );
        Ok(Update {
            grads,
            stats: UpdateStats::default(),
            diagnostics,
        })
    }
}

impl UpdateRule for Hig {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update> {
        let residuals = residual_jacobian(ctx, net, scenes, rollout)?;
        self.step(
            ctx,
            net,
            &residuals.values,
            &residuals.jacobian,
            scenes.len(),
        )
    }

    fn gathered(&self) -> Option<&dyn Gathered> {
        Some(self)
    }
}

/// A part is one block per residual row, `[r_j, ∂r_j/∂θ (P values)]`, rows in episode order:
/// parts concatenated in rank order are the whole batch's rows in order.
impl Gathered for Hig {
    fn part(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Vec<f64>> {
        let residuals = residual_jacobian(ctx, net, scenes, rollout)?;
        let params = residuals.jacobian.nrows();
        let mut part = Vec::with_capacity(residuals.values.len() * (params + 1));
        for (j, column) in residuals.jacobian.column_iter().enumerate() {
            part.push(residuals.values[j]);
            part.extend(column.iter());
        }
        Ok(part)
    }

    fn combine(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        parts: Vec<f64>,
        batch: usize,
    ) -> crate::Result<Update> {
        let block = net.num_parameters() + 1;
        let rows = parts.len() / block;
        let values = DVector::from_iterator(rows, parts.chunks_exact(block).map(|b| b[0]));
        let jacobian_t = DMatrix::from_iterator(
            block - 1,
            rows,
            parts
                .chunks_exact(block)
                .flat_map(|b| b[1..].iter().copied()),
        );
        drop(parts);
        self.step(ctx, net, &values, &jacobian_t, batch)
    }
}

/// `update: Hig(truncation: …, exponent: …)`: half-inverse gradients (docs/method.md §4.5), the network
/// and the physics inverted jointly by a truncated SVD of the residual Jacobian, direction
/// `V Σ^(−κ) Uᵀ g`. Use with `Sgd(lr: 1.0)` as the references do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HigSpec {
    /// Relative truncation `τ`: singular values below `τ · σ_max` are dropped
    /// (default 1e-10, the book's setting).
    #[serde(default = "default_hig_truncation")]
    pub truncation: f64,
    /// Exponent `κ` (default ½; 1 is Gauss-Newton).
    #[serde(default = "default_hig_exponent")]
    pub exponent: f64,
}

fn default_hig_truncation() -> f64 {
    1e-10
}

fn default_hig_exponent() -> f64 {
    HIG_EXPONENT
}

impl RuleSpec for HigSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        check_truncation(self.truncation)?;
        let k = self.exponent;
        ensure(
            k.is_finite() && (0.0..=1.0).contains(&k),
            "exponent",
            format!("must be in [0, 1], got {k}"),
        )
    }

    fn memory(&self, problem: &Problem<'_>) -> Vec<MemoryPart> {
        jacobian_memory(problem)
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(Hig {
            truncation: self.truncation,
            exponent: self.exponent,
        })
    }
}

/// `update: GaussNewton(truncation: …)`: the truncated pseudo-inverse of the residual
/// Jacobian (`Hig` with `κ = 1`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussNewtonSpec {
    /// Relative truncation `τ` (default 1e-6, the paper's rcond).
    #[serde(default = "default_gauss_newton_truncation")]
    pub truncation: f64,
}

fn default_gauss_newton_truncation() -> f64 {
    1e-6
}

impl RuleSpec for GaussNewtonSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, false, true)?;
        check_truncation(self.truncation)
    }

    fn memory(&self, problem: &Problem<'_>) -> Vec<MemoryPart> {
        jacobian_memory(problem)
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(Hig {
            truncation: self.truncation,
            exponent: GAUSS_NEWTON_EXPONENT,
        })
    }
}

fn check_truncation(t: f64) -> Result<(), ParamError> {
    ensure(
        t.is_finite() && (0.0..1.0).contains(&t),
        "truncation",
        format!("must be in [0, 1), got {t}"),
    )
}

/// Copies of the `(P × R)` residual Jacobian alive during a HIG iteration: the Jacobian,
/// faer's left singular vectors and the kept ones.
const JACOBIAN_COPIES: u64 = 3;

/// The residual Jacobian `R × P` (with `R = batch ×` rows per episode, see
/// [`super::residuals`]) and its SVD.
fn jacobian_memory(problem: &Problem<'_>) -> Vec<MemoryPart> {
    let (objective, sizes) = (problem.objective, &problem.sizes);
    let (n, m, steps) = (sizes.state_dim, sizes.control_dim, sizes.steps);
    let terminal = objective
        .terminal_weight
        .as_ref()
        .map_or(n, |w| w.iter().filter(|w| **w != 0.0).count() as u64);
    let force = if objective.force_weight > 0.0 {
        steps.saturating_mul(m)
    } else {
        0
    };
    let tracking = if objective.tracking_weight > 0.0 {
        steps.saturating_sub(1).saturating_mul(n)
    } else {
        0
    };
    let rows = sizes
        .batch
        .saturating_mul(terminal.saturating_add(force).saturating_add(tracking));
    vec![MemoryPart {
        what: format!(
            "residual Jacobian ({rows} rows × {} parameters) and its SVD",
            sizes.parameters
        ),
        driven_by: "batch × residual rows per episode × network parameters",
        bytes: product(&[JACOBIAN_COPIES, rows, sizes.parameters, F64_BYTES]),
    }]
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
        let jacobian_t = diagonal(&sigma, 5);
        let spectrum = Spectrum::new(&jacobian_t, 0.0, None).unwrap();
        assert_eq!((spectrum.kept(), spectrum.total()), (3, 3));
        assert_eq!(spectrum.sigma_max(), 9.0);
        let g = DVector::from_vec(vec![1.0, -2.0, 3.0]);
        let step = spectrum.apply(&g, HIG_EXPONENT);
        let want = [1.0 / 2.0, -2.0 / 0.5, 3.0 / 3.0, 0.0, 0.0];
        for (got, want) in step.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        // κ = 1 is the pseudo-inverse, κ = −1 the gradient 𝒥ᵀ g, κ = 0 unit singular values.
        let gn = spectrum.apply(&g, GAUSS_NEWTON_EXPONENT);
        assert!((gn[1] + 8.0).abs() < 1e-12 && (gn[2] - 1.0 / 3.0).abs() < 1e-12);
        let gradient = spectrum.apply(&g, -1.0);
        let want = [4.0, -0.5, 27.0, 0.0, 0.0];
        for (got, want) in gradient.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        let unit = spectrum.apply(&g, 0.0);
        assert!((unit[1] + 2.0).abs() < 1e-12);
    }

    #[test]
    fn truncation_drops_small_singular_values_only() {
        let sigma = [1.0, 1e-3, 1e-12];
        let jacobian_t = diagonal(&sigma, 3);
        let spectrum = Spectrum::new(&jacobian_t, 1e-6, None).unwrap();
        assert_eq!((spectrum.kept(), spectrum.total()), (2, 3));
        assert_eq!(spectrum.sigma_min_kept(), 1e-3);
        let step = spectrum.apply(&DVector::from_element(3, 1.0), GAUSS_NEWTON_EXPONENT);
        assert!((step[0] - 1.0).abs() < 1e-12 && (step[1] - 1e3).abs() < 1e-6);
        assert_eq!(step[2], 0.0, "the dropped direction gets no update");
    }

    #[test]
    fn the_gram_and_svd_routes_agree() {
        let jacobian_t = DMatrix::from_fn(20, 6, |p, r| ((p * 7 + r * 13) % 11) as f64 - 5.0);
        let g = DVector::from_fn(6, |i, _| (i as f64).sin());
        let gram = Spectrum::from_gram(&jacobian_t, 1e-12, None).unwrap();
        let svd = Spectrum::from_svd(&jacobian_t, 1e-12).unwrap();
        assert_eq!((gram.route(), svd.route()), (Route::Gram, Route::Svd));
        assert_eq!(gram.kept(), svd.kept());
        for exponent in [0.0, HIG_EXPONENT, GAUSS_NEWTON_EXPONENT] {
            let (a, b) = (gram.apply(&g, exponent), svd.apply(&g, exponent));
            assert!((&a - &b).norm() <= 1e-10 * b.norm(), "κ = {exponent}");
        }
        // A spectrum too wide for the Gram matrix takes the SVD.
        let wide = diagonal(&[1.0, 1e-7], 3);
        assert_eq!(
            Spectrum::new(&wide, 1e-10, None).unwrap().route(),
            Route::Svd
        );
        assert_eq!(
            Spectrum::new(&jacobian_t, 1e-10, None).unwrap().route(),
            Route::Gram
        );
    }

    #[test]
    fn an_empty_jacobian_gives_a_zero_step() {
        let jacobian_t = DMatrix::zeros(4, 2);
        let spectrum = Spectrum::new(&jacobian_t, 1e-10, None).unwrap();
        assert_eq!(spectrum.kept(), 0);
        assert_eq!(
            spectrum.apply(&DVector::from_element(2, 1.0), 0.5).norm(),
            0.0
        );
    }
}
