//! Simulators and their capabilities.
//!
//! A simulator maps a state `s ∈ Rⁿ` and a control `u ∈ Rᵐ` to the next state,
//! `s' = P(s, u)`, in `f64`. A single-prediction inverse problem `y = P(x)` is the one-step
//! case: the state is the output `y` (the incoming state is ignored, `A = ∂P/∂s = 0`) and
//! the control is the network's prediction `x`. One episode machinery serves both.
//!
//! Capabilities are separate traits, so code that needs a Jacobian product or an inverse
//! states it in its bounds:
//! - [`Simulator`]: forward step (required);
//! - [`Jvp`]: `A δs + B δu` with `A = ∂P/∂s`, `B = ∂P/∂u`;
//! - [`Vjp`]: `(Aᵀ w, Bᵀ w)`;
//! - [`ControlInverse`]: a local inverse with respect to the control, `ũ = P⁻¹(s̃'; s, u)`;
//! - [`ControlHessian`]: `Σᵢ wᵢ ∂²Pᵢ/∂u²`, for saddle-free Newton;
//! - [`SimMetrics`]: problem-specific metrics such as the sine's `x_dist`.
//!
//! [`Physics`] bundles a simulator with whichever capabilities it has, type-checked when it
//! is built; the [`table`] maps names in scenario files to constructors of [`Physics`] ([`crate::Registry`] holds it beside the update rules and network kinds).
//! [`Physics::check_dimensions`] checks once that every call returns vectors of the lengths
//! the simulator declares, and that its layouts ([`Simulator::state_layout`],
//! [`Simulator::control_layout`]: names and units per component, or a grid) describe those
//! lengths (scenario validation runs it; [`dimensions`]).
//!
//! A simulator without hand-written derivatives gets them from an adapter: [`autodiff`]
//! derives exact JVPs and VJPs from a step written generically over dual numbers, and
//! [`finite_difference`] approximates them by central differences of any step, at a stated
//! cost and accuracy.
//!
//! Built-in simulators, one per module: [`rotating_sine`], [`exponential`] (single-prediction
//! problems), [`point_mass`], [`anisotropic_point_mass`] (the conditioning study, built on
//! `point_mass`'s linear core), [`oscillators`], [`pendulum`], [`burgers`] and [`heat1d`]
//! (1D diffusion driven by a few Gaussian actuators: an ill-conditioned linear PDE control
//! task, docs/method.md §4.3), and the 2D field inverse problems [`heat2d`] (docs/method.md
//! §3.5) and [`poisson2d`] (§3.6), on the shared [`field2d`] grid with the [`fft2d`] and [`dst`]
//! transforms, and [`heat2d_control`] (2D diffusion heated by a field over an episode).

pub mod autodiff;
pub mod check;
pub mod dimensions;
pub mod dst;
pub mod fft2d;
pub mod field2d;
pub mod finite_difference;
pub mod table;
pub mod work;

pub mod anisotropic_point_mass;
pub mod burgers;
pub mod exponential;
pub mod heat1d;
pub mod heat2d;
pub mod heat2d_control;
pub mod oscillators;
pub mod pendulum;
pub mod point_mass;
pub mod poisson2d;
pub mod rotating_sine;

pub use table::{BuildError, ParamError, Simulators};
pub use work::Work;
use work::{Counted, WorkCounters};

/// The error for a scene generator `name` that `simulator` does not have, listing `known`.
pub fn unknown_generator(simulator: &str, name: &str, known: &[String]) -> crate::Error {
    crate::Error::UnknownGenerator {
        simulator: simulator.to_string(),
        name: name.to_string(),
        known: known.to_vec(),
    }
}

/// Registers every built-in simulator in `table`.
pub(crate) fn register_builtins(table: &mut Simulators) {
    rotating_sine::register(table);
    exponential::register(table);
    point_mass::register(table);
    anisotropic_point_mass::register(table);
    oscillators::register(table);
    pendulum::register(table);
    burgers::register(table);
    heat1d::register(table);
    heat2d::register(table);
    heat2d_control::register(table);
    poisson2d::register(table);
}

pub use crate::layout::Layout;
use nalgebra::{DMatrix, DVector};
use std::sync::Arc;

/// Column vector of physical quantities (f64).
pub type Vector = DVector<f64>;
/// Dense matrix of physical quantities (f64).
pub type Matrix = DMatrix<f64>;

/// Gives the output buffer of an in-place call ([`Simulator::step_into`], [`Jvp::jvp_into`],
/// [`Vjp::vjp_into`]) length `len`: kept as it is if it has it (the caller overwrites every
/// entry), else replaced by zeros.
pub fn fit(out: &mut Vector, len: usize) {
    if out.len() != len {
        *out = Vector::zeros(len);
    }
}
/// The random stream a [`SceneGenerator`] draws one scene from (ChaCha8, re-exported as
/// [`crate::rand_chacha`] so that implementations need not pin the crate's version).
pub type SceneRng = rand_chacha::ChaCha8Rng;

/// Forward simulation of one time step.
pub trait Simulator: Send + Sync {
    /// Short name used in logs and error messages.
    fn name(&self) -> &str;
    /// Dimension `n` of the state.
    fn state_dim(&self) -> usize;
    /// Dimension `m` of the control.
    fn control_dim(&self) -> usize;
    /// Time step `Δt` in the simulator's time unit; `1` for single-prediction problems.
    /// Used by metrics such as the force still missing (`|s* − s_T| / Δt`).
    fn dt(&self) -> f64 {
        1.0
    }
    /// Typical magnitude of each control component (length `m`), in the control's units: the
    /// network's output is multiplied by it unless the scenario sets `control_scale`, so that
    /// an output of order one is a control of the right order. `None` (the default): 1.
    fn control_scale(&self) -> Option<Vector> {
        None
    }
    /// What the state's components are (length `n`): named quantities with units, or a grid
    /// ([`Layout`]). Figures, tables, exports and the network's input description follow it.
    /// The default, for simulators that declare none: `n` components `s0, s1, …` without
    /// unit. [`Physics::check_dimensions`] checks that it describes `n` entries.
    fn state_layout(&self) -> Layout {
        Layout::generic("s", self.state_dim())
    }
    /// What the control's components are (length `m`), as [`Simulator::state_layout`]; the
    /// default is `u0, u1, …` without unit.
    fn control_layout(&self) -> Layout {
        Layout::generic("u", self.control_dim())
    }
    /// `s' = P(s, u)`. `state` has length `n`, `control` length `m`; the result length `n`.
    fn step(&self, state: &Vector, control: &Vector) -> Vector;

    /// `out ← P(s, u)`: [`Simulator::step`] into a provided buffer, which the hot loops
    /// (rollouts, line searches) reuse. `out` has length `n` on return (it is resized if it
    /// had another length). The default calls [`Simulator::step`] and moves its result into
    /// `out`; simulators override it to avoid the allocation. An override must give exactly
    /// the numbers `step` gives.
    fn step_into(&self, state: &Vector, control: &Vector, out: &mut Vector) {
        *out = self.step(state, control);
    }
}

/// Jacobian-vector product of one step.
pub trait Jvp: Simulator {
    /// `A δs + B δu` at `(s, u)`, with `A = ∂P/∂s` (n×n) and `B = ∂P/∂u` (n×m).
    fn jvp(&self, state: &Vector, control: &Vector, d_state: &Vector, d_control: &Vector)
        -> Vector;

    /// `out ← A δs + B δu`: [`Jvp::jvp`] into a provided buffer (length `n` on return; `out`
    /// must not alias the inputs). The default calls [`Jvp::jvp`]; overrides give exactly its
    /// numbers without allocating.
    fn jvp_into(
        &self,
        state: &Vector,
        control: &Vector,
        d_state: &Vector,
        d_control: &Vector,
        out: &mut Vector,
    ) {
        *out = self.jvp(state, control, d_state, d_control);
    }

    /// Whether `A` and `B` are the same at every `(s, u)` (the step is affine,
    /// `P(s, u) = A s + B u + c`), so that quantities built from them, such as an episode's
    /// Gramian, can be shared across steps and episodes. Default `false`.
    fn constant_jacobians(&self) -> bool {
        false
    }

    /// Dense Jacobians `(A, B)` at `(s, u)`. The default assembles them column by column
    /// from `n + m` JVPs; simulators with cheap closed forms override it.
    fn jacobians(&self, state: &Vector, control: &Vector) -> (Matrix, Matrix) {
        let (n, m) = (self.state_dim(), self.control_dim());
        let zero_s = Vector::zeros(n);
        let zero_u = Vector::zeros(m);
        let mut a = Matrix::zeros(n, n);
        let mut b = Matrix::zeros(n, m);
        for j in 0..n {
            let mut e = zero_s.clone();
            e[j] = 1.0;
            a.set_column(j, &self.jvp(state, control, &e, &zero_u));
        }
        for j in 0..m {
            let mut e = zero_u.clone();
            e[j] = 1.0;
            b.set_column(j, &self.jvp(state, control, &zero_s, &e));
        }
        (a, b)
    }
}

/// `(Aᵀ w, Bᵀ w)` from the dense Jacobians of `sim` ([`Jvp::jacobians`]): a VJP for
/// simulators whose derivatives come in forward mode, at the cost of the Jacobians (by
/// default `n + m` JVPs) per call.
pub fn vjp_from_jacobians<S: Jvp + ?Sized>(
    sim: &S,
    state: &Vector,
    control: &Vector,
    cotangent: &Vector,
) -> (Vector, Vector) {
    let (a, b) = sim.jacobians(state, control);
    (a.tr_mul(cotangent), b.tr_mul(cotangent))
}

/// Vector-Jacobian product of one step.
pub trait Vjp: Simulator {
    /// `(Aᵀ w, Bᵀ w)` at `(s, u)` for a cotangent `w` of length `n`.
    fn vjp(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector);

    /// `(d_state, d_control) ← (Aᵀ w, Bᵀ w)`: [`Vjp::vjp`] into provided buffers (lengths `n`
    /// and `m` on return). The default calls [`Vjp::vjp`]; overrides give exactly its numbers
    /// without allocating.
    fn vjp_into(
        &self,
        state: &Vector,
        control: &Vector,
        cotangent: &Vector,
        d_state: &mut Vector,
        d_control: &mut Vector,
    ) {
        let (s, u) = self.vjp(state, control, cotangent);
        *d_state = s;
        *d_control = u;
    }
}

/// Local inverse with respect to the control, supplied by the simulator (analytic).
pub trait ControlInverse: Simulator {
    /// The control `ũ` *near* `control` with `P(state, ũ) = target` (length `m`).
    /// Chooses the branch nearest the current control when the inverse is multi-valued.
    fn control_inverse(
        &self,
        state: &Vector,
        control: &Vector,
        target: &Vector,
    ) -> Result<Vector, crate::InverseError>;
}

/// Second derivatives with respect to the control, contracted with a cotangent.
pub trait ControlHessian: Simulator {
    /// `Σᵢ wᵢ ∂²Pᵢ/∂u²` at `(s, u)`: an `m×m` symmetric matrix.
    fn control_hessian(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> Matrix;
}

/// Problem-specific evaluation metrics of a finished episode.
pub trait SimMetrics: Send + Sync {
    /// Names of the metrics, in the order [`SimMetrics::evaluate`] returns them.
    fn metric_names(&self) -> Vec<String>;
    /// Metric values for one episode of `scene` (its initial state, target and, when the scenes
    /// carry them, ground-truth controls — the field problems' `x_mae` compares with those),
    /// with controls `controls[t]` and visited states `states[t]` (`t = 0..=T`).
    fn evaluate(&self, scene: &Scene, controls: &[Vector], states: &[Vector]) -> Vec<f64>;
    /// What a single-prediction problem's metrics compare with the ground truth when the
    /// network outputs `control` from `state`: the control itself unless the simulator adjusts
    /// it first (heat2d shifts it to the state's mean). Figures draw this as the prediction.
    fn prediction(&self, state: &Vector, control: &Vector) -> Vector {
        let _ = state;
        control.clone()
    }
}

/// A simulator together with the capabilities it offers.
///
/// Build it with [`Physics::new`] and add capabilities with the `with_*` methods; each is
/// available only if the simulator type implements the corresponding trait.
#[derive(Clone)]
pub struct Physics {
    sim: Arc<dyn Simulator>,
    jvp: Option<Arc<dyn Jvp>>,
    vjp: Option<Arc<dyn Vjp>>,
    inverse: Option<Arc<dyn ControlInverse>>,
    hessian: Option<Arc<dyn ControlHessian>>,
    metrics: Option<Arc<dyn SimMetrics>>,
    scenes: Option<Arc<dyn SceneGenerator>>,
    /// Calls of every capability above, counted ([`work`]).
    counters: Arc<WorkCounters>,
}

impl std::fmt::Debug for Physics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Physics")
            .field("name", &self.sim.name())
            .field("state_dim", &self.sim.state_dim())
            .field("control_dim", &self.sim.control_dim())
            .field("jvp", &self.jvp.is_some())
            .field("vjp", &self.vjp.is_some())
            .field("inverse", &self.inverse.is_some())
            .field("hessian", &self.hessian.is_some())
            .finish()
    }
}

impl Physics {
    /// A simulator with only its forward step.
    pub fn new<S: Simulator + 'static>(sim: S) -> Self {
        Self::new_arc(Arc::new(sim))
    }

    /// Like [`Physics::new`], for a simulator already in an [`Arc`], so the caller can add
    /// capabilities of the same object with the `with_*` methods.
    pub fn new_arc<S: Simulator + 'static>(sim: Arc<S>) -> Self {
        let counters = Arc::new(WorkCounters::default());
        Physics {
            sim: Arc::new(Counted::new(sim, counters.clone())),
            counters,
            jvp: None,
            vjp: None,
            inverse: None,
            hessian: None,
            metrics: None,
            scenes: None,
        }
    }

    /// A simulator with forward step, JVP and VJP.
    pub fn differentiable<S: Jvp + Vjp + 'static>(sim: S) -> Self {
        Self::differentiable_arc(Arc::new(sim))
    }

    /// Like [`Physics::differentiable`], for a simulator already in an [`Arc`], so the caller
    /// can pass the same object to [`Physics::with_inverse`] or [`Physics::with_scenes`].
    pub fn differentiable_arc<S: Jvp + Vjp + 'static>(sim: Arc<S>) -> Self {
        Self::new_arc(sim.clone())
            .with_jvp(sim.clone())
            .with_vjp(sim)
    }

    /// A simulator with forward step and JVP but no VJP: enough for `check-grad` and for
    /// step-level inverses that only need `∂P/∂u` (`Newton`, `PseudoInverseStep`), not for
    /// back-propagation through time, SIP's inversion across time or its gradient-step
    /// fallback, which are refused at validation naming the missing VJP. For both products
    /// from a forward step alone see [`autodiff::AutoDiff`] and
    /// [`finite_difference::FiniteDifference`].
    pub fn jvp_only<S: Jvp + 'static>(sim: S) -> Self {
        let sim = Arc::new(sim);
        Self::new_arc(sim.clone()).with_jvp(sim)
    }

    /// A simulator with forward step and VJP but no JVP: enough for back-propagation through
    /// time (`Bptt`); SIP's inverses, which need the JVP, are refused at validation naming it.
    pub fn vjp_only<S: Vjp + 'static>(sim: S) -> Self {
        let sim = Arc::new(sim);
        Self::new_arc(sim.clone()).with_vjp(sim)
    }

    /// Adds the JVP of `sim` (the same simulator object).
    pub fn with_jvp<S: Jvp + 'static>(mut self, sim: Arc<S>) -> Self {
        self.jvp = Some(Arc::new(Counted::new(sim, self.counters.clone())));
        self
    }

    /// Adds the VJP of `sim` (the same simulator object).
    pub fn with_vjp<S: Vjp + 'static>(mut self, sim: Arc<S>) -> Self {
        self.vjp = Some(Arc::new(Counted::new(sim, self.counters.clone())));
        self
    }

    /// Adds the analytic control inverse of `sim` (the same simulator object).
    pub fn with_inverse<S: ControlInverse + 'static>(mut self, sim: Arc<S>) -> Self {
        self.inverse = Some(Arc::new(Counted::new(sim, self.counters.clone())));
        self
    }

    /// Adds control Hessians.
    pub fn with_hessian<S: ControlHessian + 'static>(mut self, sim: Arc<S>) -> Self {
        self.hessian = Some(Arc::new(Counted::new(sim, self.counters.clone())));
        self
    }

    /// The simulator calls counted so far, by every holder of this `Physics` and its clones
    /// ([`work`]); the difference of two snapshots is the work in between.
    pub fn work(&self) -> Work {
        self.counters.total()
    }

    /// Adds problem-specific metrics.
    pub fn with_metrics<M: SimMetrics + 'static>(mut self, metrics: Arc<M>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Adds named scene generators.
    pub fn with_scenes<G: SceneGenerator + 'static>(mut self, scenes: Arc<G>) -> Self {
        self.scenes = Some(scenes);
        self
    }

    /// Builds a [`Physics`] with every capability `S` has: JVP, VJP, inverse, Hessian.
    /// Convenience for simulators implementing all of them.
    pub fn full<S: Jvp + Vjp + ControlInverse + ControlHessian + 'static>(sim: S) -> Self {
        let sim = Arc::new(sim);
        Self::differentiable_arc(sim.clone())
            .with_inverse(sim.clone())
            .with_hessian(sim)
    }

    /// Forward step (always available).
    pub fn sim(&self) -> &dyn Simulator {
        self.sim.as_ref()
    }
    /// JVP capability, if any.
    pub fn jvp(&self) -> Option<&dyn Jvp> {
        self.jvp.as_deref()
    }
    /// VJP capability, if any.
    pub fn vjp(&self) -> Option<&dyn Vjp> {
        self.vjp.as_deref()
    }
    /// Analytic control inverse, if any.
    pub fn inverse(&self) -> Option<&dyn ControlInverse> {
        self.inverse.as_deref()
    }
    /// Control Hessian, if any.
    pub fn hessian(&self) -> Option<&dyn ControlHessian> {
        self.hessian.as_deref()
    }
    /// Problem-specific metrics, if any.
    pub fn metrics(&self) -> Option<&dyn SimMetrics> {
        self.metrics.as_deref()
    }
    /// Scene generators, if any.
    pub fn scenes(&self) -> Option<&dyn SceneGenerator> {
        self.scenes.as_deref()
    }
    /// Simulator name.
    pub fn name(&self) -> &str {
        self.sim.name()
    }

    /// Checks that every call of the simulator returns what its declared dimensions say
    /// ([`dimensions::check_physics`]): a [`crate::Error::SimulatorOutput`] naming the call
    /// and the lengths otherwise, a [`crate::Error::Layout`] if a declared layout does not
    /// describe its vector. Scenario validation runs it once.
    pub fn check_dimensions(&self) -> crate::Result<()> {
        dimensions::check_physics(self)
    }

    /// The error for a capability this simulator lacks, e.g. `"JVP"` or `"control Hessian"`.
    pub fn missing_capability(&self, capability: &'static str) -> crate::InverseError {
        crate::InverseError::MissingCapability {
            simulator: self.name().to_string(),
            capability,
        }
    }

    /// The JVP capability or a configuration error naming what needed it.
    pub fn require_jvp(&self, who: &str) -> crate::Result<&dyn Jvp> {
        self.jvp().ok_or_else(|| self.missing("a JVP", who))
    }
    /// The VJP capability or a configuration error naming what needed it.
    pub fn require_vjp(&self, who: &str) -> crate::Result<&dyn Vjp> {
        self.vjp().ok_or_else(|| self.missing("a VJP", who))
    }

    fn missing(&self, what: &str, who: &str) -> crate::Error {
        crate::Error::MissingCapability {
            simulator: self.name().to_string(),
            capability: what.to_string(),
            needed_by: who.to_string(),
        }
    }
}

/// One episode's boundary data: initial state, target, and the ground-truth controls when
/// they are known (for supervised training and "ground-truth force" reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// `s₀`, length `n`.
    pub initial: Vector,
    /// `s*`, length `n`.
    pub target: Vector,
    /// Ground-truth controls `u*_t` (`T` entries of length `m`) if known. Shared between the
    /// copies of a scene (a training batch copies the scenes it draws from the kept pool; a
    /// Burgers scene's controls are 32 vectors of 32 cells).
    pub reference_controls: Option<Arc<[Vector]>>,
}

/// Simulator-specific generators of scenes (initial state and target), by name.
pub trait SceneGenerator: Send + Sync {
    /// Names accepted by [`SceneGenerator::generate`].
    fn generator_names(&self) -> Vec<String>;
    /// Draws one scene from generator `name` for an episode of `steps` steps.
    /// `rng` is the scene's own random stream, so scene `k` is the same whatever the batch.
    fn generate(&self, name: &str, steps: usize, rng: &mut SceneRng) -> crate::Result<Scene>;
}
