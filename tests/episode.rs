//! Episodes: the inversion across time, the per-step chain, and the exactness of the
//! back-propagation-through-time gradient.

mod common;

use nalgebra::DMatrix;
use physinv::episode::{rollout, simulate, Policy};
use physinv::inverse::episode::{invert_chain, invert_episode, EpisodeInverseSettings};
use physinv::objective::Objective;
use physinv::scenario::LinearSolver;
use physinv::sim::{Physics, Vector};
use physinv::train::bptt::Bptt;
use physinv::train::{batch_update, Context, Trainer, UpdateRule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Relative agreement of the BPTT gradient with central differences in f32 weights: observed
/// ≤ 5e-5; dropping the adjoint's path through the network input gives ≥ 5e-3.
const FD_TOLERANCE: f64 = 1e-3;

/// Round-off level for a linear solve with a well-conditioned 4×4 Gramian.
const ROUND_OFF: f64 = 1e-9;

fn random_controls(rng: &mut ChaCha8Rng, steps: usize, m: usize, scale: f64) -> Vec<Vector> {
    (0..steps)
        .map(|_| Vector::from_fn(m, |_, _| rng.gen_range(-scale..scale)))
        .collect()
}

/// The point mass with random controls of `steps` steps from a fixed initial state.
fn point_mass_episode(seed: u64, steps: usize) -> (Physics, Vector, Vec<Vector>) {
    let physics = common::physics("point_mass", "()");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s0 = Vector::from_vec(vec![0.3, -0.2, 0.1, 0.4]);
    let u = random_controls(&mut rng, steps, 2, 1.0);
    (physics, s0, u)
}

fn settings(max_iterations: usize, solver: LinearSolver) -> EpisodeInverseSettings {
    EpisodeInverseSettings {
        max_iterations,
        solver,
        spectrum: true,
        ..EpisodeInverseSettings::default()
    }
}

/// docs/method.md §2: on a linear system with μ = 0, η = 1, one inversion equals the closed-form
/// minimum-energy correction and reaches s̃_T to round-off.
#[test]
fn point_mass_inversion_is_the_closed_form_minimum_norm_correction() {
    let physics = common::physics("point_mass", "()");
    let sim = physics.sim();
    let jvp = physics.jvp().expect("jvp");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let steps = 10;
    let s0 = Vector::from_vec(vec![0.3, -0.2, 0.1, 0.4]);
    let u = random_controls(&mut rng, steps, 2, 1.0);
    let target = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let out = invert_episode(
        &physics,
        &s0,
        &u,
        &target,
        &settings(1, LinearSolver::Dense),
    )
    .expect("linear inversion succeeds");
    assert_eq!(out.iterations, 1);
    let reached = simulate(&physics, &s0, &out.controls, 0).expect("finite")[steps].clone();
    assert!(
        (reached - &target).amax() < ROUND_OFF,
        "target reached to round-off"
    );

    // Closed form: ũ = u + Jᵀ (J Jᵀ)⁻¹ (s̃_T − s_T) with J = [A^{T−1}B … B].
    let (a, b) = jvp.jacobians(&s0, &u[0]);
    let mut j = DMatrix::zeros(4, 2 * steps);
    let mut phi = DMatrix::identity(4, 4);
    for t in (0..steps).rev() {
        j.view_mut((0, 2 * t), (4, 2)).copy_from(&(&phi * &b));
        phi = &phi * &a;
    }
    let s_t = simulate(&physics, &s0, &u, 0).expect("finite")[steps].clone();
    let g = &j * j.transpose();
    let y = g.cholesky().expect("SPD").solve(&(&target - s_t));
    let du = j.transpose() * y;
    for (t, (start, got)) in u.iter().zip(&out.controls).enumerate() {
        let expected = start + du.rows(2 * t, 2);
        assert!((got - expected).amax() < ROUND_OFF, "step {t}");
    }
    assert_eq!(sim.state_dim(), 4);
}

/// The episode map `δs_T = J δu` of the linear point mass as a dense `4 × 2T` matrix.
fn point_mass_episode_jacobian(physics: &Physics, steps: usize) -> DMatrix<f64> {
    let jvp = physics.jvp().expect("jvp");
    let (a, b) = jvp.jacobians(&Vector::zeros(4), &Vector::zeros(2));
    let mut j = DMatrix::zeros(4, 2 * steps);
    let mut phi = DMatrix::identity(4, 4);
    for t in (0..steps).rev() {
        j.view_mut((0, 2 * t), (4, 2)).copy_from(&(&phi * &b));
        phi = &phi * &a;
    }
    j
}

/// docs/method.md §4.3: `μ` is a prior anchored at the rollout's controls `u⁰`, not a per-iterate
/// damping. On a linear system the inversion converges to the closed form
/// `ũ = u⁰ + Jᵀ (G + μ I)⁻¹ r` however many Gauss-Newton iterations it may take (a damping
/// re-anchored at every iterate would creep on to the exact reach).
#[test]
fn mu_is_a_prior_anchored_at_the_rollout_controls() {
    let steps = 10;
    let (physics, s0, u) = point_mass_episode(17, steps);
    let target = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let mu = 0.05;
    let soft = EpisodeInverseSettings {
        mu,
        ..settings(20, LinearSolver::Dense)
    };
    let out = invert_episode(&physics, &s0, &u, &target, &soft).expect("inversion");
    let j = point_mass_episode_jacobian(&physics, steps);
    let s_t = simulate(&physics, &s0, &u, 0).expect("finite")[steps].clone();
    let mut g = &j * j.transpose();
    for i in 0..4 {
        g[(i, i)] += mu;
    }
    let du = j.transpose() * g.cholesky().expect("SPD").solve(&(&target - &s_t));
    for (t, (start, got)) in u.iter().zip(&out.controls).enumerate() {
        let expected = start + du.rows(2 * t, 2);
        assert!(
            (got - &expected).amax() < ROUND_OFF,
            "step {t}: {got} vs {expected}"
        );
    }
    assert!(out.converged, "stationary at the regularised optimum");
    assert!(!out.line_search_failed);
    assert!(
        out.residual > 1e-3,
        "the prior keeps the target out of reach"
    );
    assert!(out.residual_ratio() < 1.0 && out.residual_ratio() > 0.0);
    let (low, high) = out
        .gramian_range
        .expect("dense solve reports the Gramian range");
    assert!(low > 0.0 && high >= low);
}

/// With the force penalty centred at `(1 − η) u⁰` (the Newton step of the penalty), the SIP
/// inversion towards `s_T + η (s* − s_T)` returns `u⁰` unchanged exactly when `u⁰` minimises
/// the whole objective `½‖s_T − s*‖² + ½ α ‖u‖²`, for any `η`; centred at 0 it would not.
#[test]
fn sip_inversion_is_stationary_at_the_optimum_of_the_objective() {
    let physics = common::physics("point_mass", "()");
    let steps = 10;
    let alpha = 1e-2;
    let s0 = Vector::from_vec(vec![0.3, -0.2, 0.1, 0.4]);
    let goal = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let j = point_mass_episode_jacobian(&physics, steps);
    let free =
        simulate(&physics, &s0, &vec![Vector::zeros(2); steps], 0).expect("finite")[steps].clone();
    // Optimum u* = Jᵀ (G + α I)⁻¹ (s* − s_free).
    let mut g = &j * j.transpose();
    for i in 0..4 {
        g[(i, i)] += alpha;
    }
    let flat = j.transpose() * g.cholesky().expect("SPD").solve(&(&goal - &free));
    let optimum: Vec<Vector> = (0..steps)
        .map(|t| flat.rows(2 * t, 2).into_owned())
        .collect();
    let s_t = simulate(&physics, &s0, &optimum, 0).expect("finite")[steps].clone();
    for eta in [1.0, 0.5, 0.2] {
        let newton = &s_t + (&goal - &s_t) * eta;
        let run = |force_anchor: f64| {
            let s = EpisodeInverseSettings {
                alpha,
                force_anchor,
                ..settings(10, LinearSolver::Dense)
            };
            invert_episode(&physics, &s0, &optimum, &newton, &s).expect("inversion")
        };
        let anchored = run(1.0 - eta);
        for (got, want) in anchored.controls.iter().zip(&optimum) {
            assert!((got - want).amax() < ROUND_OFF, "η {eta}: {got} vs {want}");
        }
        if eta < 1.0 {
            let shift: f64 = run(0.0)
                .controls
                .iter()
                .zip(&optimum)
                .map(|(a, b)| (a - b).amax())
                .fold(0.0, f64::max);
            assert!(
                shift > 1e-3,
                "η {eta}: centred at 0 the optimum moves ({shift:e})"
            );
        }
    }
}

/// The closed-form optimum `u* = Jᵀ (G + α I)⁻¹ (s* − s_free)` of
/// `½‖s_T − s*‖² + ½ α Σ_t ‖u_t‖²` on the point mass over `steps` steps from `s0`.
fn point_mass_optimum(
    physics: &Physics,
    s0: &Vector,
    goal: &Vector,
    steps: usize,
    alpha: f64,
) -> Vec<Vector> {
    let j = point_mass_episode_jacobian(physics, steps);
    let free =
        simulate(physics, s0, &vec![Vector::zeros(2); steps], 0).expect("finite")[steps].clone();
    let mut g = &j * j.transpose();
    for i in 0..4 {
        g[(i, i)] += alpha;
    }
    let flat = j.transpose() * g.cholesky().expect("SPD").solve(&(goal - &free));
    (0..steps)
        .map(|t| flat.rows(2 * t, 2).into_owned())
        .collect()
}

/// docs/method.md §4.3: a Levenberg-Marquardt shift `d = τ λ_max` shortens the steps but does not move
/// the regularised optimum when `α > 0`: the penalty's pull is scaled by `c / (c + d)` in
/// both the right-hand side and the step. (Without that factor the iteration converges to
/// the optimum of a force weight inflated by `(c + d) / c`: here an error of about 0.3.)
#[test]
fn damping_does_not_move_the_optimum_with_penalties() {
    let physics = common::physics("point_mass", "()");
    let steps = 10;
    let alpha = 0.05;
    let s0 = Vector::from_vec(vec![0.3, -0.2, 0.1, 0.4]);
    let goal = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let optimum = point_mass_optimum(&physics, &s0, &goal, steps, alpha);
    let start = vec![Vector::zeros(2); steps];
    for damping in [0.0, 0.3, 3.0] {
        let s = EpisodeInverseSettings {
            alpha,
            damping,
            tolerance: 1e-7,
            ..settings(5000, LinearSolver::Dense)
        };
        let out = invert_episode(&physics, &s0, &start, &goal, &s).expect("inversion");
        let error = out
            .controls
            .iter()
            .zip(&optimum)
            .map(|(a, b)| (a - b).amax())
            .fold(0.0, f64::max);
        assert!(
            out.converged,
            "damping {damping}: converged: {} iterations, line search failed {}, error {error:e}",
            out.iterations, out.line_search_failed
        );
        assert!(
            error < 1e-6,
            "damping {damping}: {error:e} from the optimum"
        );
    }
}

/// docs/method.md §4.3: with feedback, the force weight acts on the controls applied,
/// `ũ_t + K_t (s̃_t − s_t)`: the inversion returns the optimum of
/// `½‖s_T − s*‖² + ½ α Σ_t ‖a_t‖²` over the applied controls `a` (whatever the gains), and
/// feed-forward controls that reproduce it through the feedback loop.
#[test]
fn feedback_inversion_penalises_the_applied_controls() {
    use physinv::inverse::episode::{invert_episode_with_feedback, Feedback};
    let physics = common::physics("point_mass", "()");
    let sim = physics.sim();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let steps = 10;
    let alpha = 1e-2;
    let s0 = Vector::from_vec(vec![0.3, -0.2, 0.1, 0.4]);
    let goal = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let u = random_controls(&mut rng, steps, 2, 1.0);
    let gains: Vec<DMatrix<f64>> = (0..steps)
        .map(|_| DMatrix::from_fn(2, 4, |_, _| rng.gen_range(-0.5..0.5)))
        .collect();
    let reference = simulate(&physics, &s0, &u, 0).expect("finite");
    let feedback = Feedback {
        gains: &gains,
        reference: &reference,
    };
    let s = EpisodeInverseSettings {
        alpha,
        ..settings(50, LinearSolver::Dense)
    };
    let out = invert_episode_with_feedback(&physics, &s0, &u, &goal, &s, Some(feedback))
        .expect("inversion");
    let optimum = point_mass_optimum(&physics, &s0, &goal, steps, alpha);
    for (a, want) in out.applied.iter().zip(&optimum) {
        assert!((a - want).amax() < 1e-8, "applied {a} vs optimum {want}");
    }
    let mut state = s0.clone();
    for t in 0..steps {
        let applied = &out.controls[t] + &gains[t] * (&state - &reference[t]);
        assert!((&applied - &out.applied[t]).amax() < 1e-10, "step {t}");
        state = sim.step(&state, &applied);
    }
    assert!((&state - &out.states[steps]).amax() < 1e-10);
}

/// Terminal weights leave components of weight 0 free: with `W = diag(1, 1, 0, 0)` the
/// inversion reaches the target position in one step with the minimum change for the position
/// rows alone, `δu = J_Sᵀ (J_S J_Sᵀ)⁻¹ r_S`, and changes the controls less than pinning the
/// velocity would.
#[test]
fn weighted_inversion_leaves_free_directions_free() {
    let steps = 10;
    let (physics, s0, u) = point_mass_episode(9, steps);
    let target = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let free = EpisodeInverseSettings {
        weight: Some(Vector::from_vec(vec![1.0, 1.0, 0.0, 0.0])),
        ..settings(1, LinearSolver::Dense)
    };
    let out = invert_episode(&physics, &s0, &u, &target, &free).expect("inversion");
    let reached = &out.states[steps];
    assert!((reached[0] - 1.0).abs() < ROUND_OFF && (reached[1] - 2.0).abs() < ROUND_OFF);
    assert!(out.converged);
    let j = point_mass_episode_jacobian(&physics, steps)
        .rows(0, 2)
        .into_owned();
    let s_t = simulate(&physics, &s0, &u, 0).expect("finite")[steps].clone();
    let r = Vector::from_vec(vec![1.0 - s_t[0], 2.0 - s_t[1]]);
    let du = j.transpose() * (&j * j.transpose()).cholesky().expect("SPD").solve(&r);
    for (t, (start, got)) in u.iter().zip(&out.controls).enumerate() {
        assert!(
            (got - (start + du.rows(2 * t, 2))).amax() < ROUND_OFF,
            "step {t}"
        );
    }
    let pinned = invert_episode(
        &physics,
        &s0,
        &u,
        &target,
        &settings(1, LinearSolver::Dense),
    )
    .expect("pinned");
    let change =
        |c: &[Vector]| -> f64 { c.iter().zip(&u).map(|(a, b)| (a - b).norm_squared()).sum() };
    assert!(change(&out.controls) < change(&pinned.controls));
    // The CG path constrains the same rows.
    let cg = EpisodeInverseSettings {
        solver: LinearSolver::Cg {
            tolerance: 1e-13,
            max_iterations: 20,
        },
        ..free
    };
    let matrix_free = invert_episode(&physics, &s0, &u, &target, &cg).expect("cg");
    for (a, b) in out.controls.iter().zip(&matrix_free.controls) {
        assert!((a - b).amax() < 1e-7, "dense {a} vs cg {b}");
    }
}

/// Levenberg-Marquardt damping relative to `λ_max` shortens the steps along weak directions
/// (one iteration no longer reaches the target) but not where the iteration converges: on a
/// linear system it ends on the undamped minimum-norm correction.
#[test]
fn relative_damping_shortens_steps_without_moving_the_solution() {
    let steps = 10;
    let (physics, s0, u) = point_mass_episode(13, steps);
    let target = Vector::from_vec(vec![1.0, 2.0, 0.0, 0.0]);
    let exact = invert_episode(
        &physics,
        &s0,
        &u,
        &target,
        &settings(1, LinearSolver::Dense),
    )
    .expect("exact");
    let damped = |iterations| {
        let s = EpisodeInverseSettings {
            damping: 0.1,
            ..settings(iterations, LinearSolver::Dense)
        };
        invert_episode(&physics, &s0, &u, &target, &s).expect("damped")
    };
    let one = damped(1);
    assert!(one.residual > 1e-3 && !one.converged);
    let many = damped(200);
    assert!(many.converged, "residual {:e}", many.residual);
    for (a, b) in exact.controls.iter().zip(&many.controls) {
        assert!((a - b).amax() < 1e-8, "{a} vs {b}");
    }
}

/// docs/method.md §4.2 on a linear system with `m < n` (where a linear ramp of state targets cannot
/// be followed): the chain's plan is the minimum-energy correction, its state targets are the
/// plan's linearised trajectory, and the per-step inverses follow them exactly to `s̃_T`.
#[test]
fn point_mass_chain_follows_the_minimum_energy_plan() {
    use physinv::inverse::episode::plan;
    let steps = 12;
    let (physics, s0, u) = point_mass_episode(23, steps);
    let states = simulate(&physics, &s0, &u, 0).expect("finite");
    let goal = Vector::from_vec(vec![1.0, 0.5, 0.0, 0.0]);
    let s = settings(1, LinearSolver::Dense);
    let planned = plan(&physics, &states, &u, &goal, &s).expect("plan");
    let exact = invert_episode(&physics, &s0, &u, &goal, &s).expect("episode");
    for (a, b) in planned.controls.iter().zip(&exact.controls) {
        assert!((a - b).amax() < ROUND_OFF, "plan {a} vs inversion {b}");
    }
    let out = invert_chain(&physics, &states, &u, &goal, &s).expect("chain");
    for (t, (reached, target)) in out.states.iter().zip(&planned.states).enumerate() {
        assert!(
            (reached - target).amax() < ROUND_OFF,
            "step {t}: {reached} vs {target}"
        );
    }
    assert!((&out.states[steps] - &goal).amax() < ROUND_OFF);
}

/// On the nonlinear pendulum (no analytic per-step inverse: one pseudo-inverse step each) the
/// chain corrects the linearisation error step by step: it ends much closer to `s̃_T` than
/// the plan's controls simulated open loop.
#[test]
fn pendulum_chain_corrects_the_nonlinearity_step_by_step() {
    use physinv::inverse::episode::plan;
    let physics = common::physics("pendulum", "()");
    let mut rng = ChaCha8Rng::seed_from_u64(29);
    let steps = 30;
    let s0 = Vector::from_vec(vec![0.1, 0.0]);
    let u = random_controls(&mut rng, steps, 1, 2.0);
    let states = simulate(&physics, &s0, &u, 0).expect("finite");
    let goal = &states[steps] + Vector::from_vec(vec![0.3, -0.2]);
    let s = settings(1, LinearSolver::Dense);
    let planned = plan(&physics, &states, &u, &goal, &s).expect("plan");
    let open = simulate(&physics, &s0, &planned.controls, 0).expect("finite")[steps].clone();
    let out = invert_chain(&physics, &states, &u, &goal, &s).expect("chain");
    let chain_miss = (&out.states[steps] - &goal).norm();
    let open_miss = (&open - &goal).norm();
    assert!(
        chain_miss < 0.1 * open_miss,
        "chain misses by {chain_miss:e}, the plan open loop by {open_miss:e}"
    );
}

/// A simulator whose derivatives point the wrong way: `s' = s + u`, but JVP and VJP are
/// negated, so every Gauss-Newton direction goes uphill and the line search cannot progress.
struct Misleading;

impl physinv::sim::Simulator for Misleading {
    fn name(&self) -> &str {
        "misleading"
    }
    fn state_dim(&self) -> usize {
        1
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        state + control
    }
}

impl physinv::sim::Jvp for Misleading {
    fn jvp(&self, _: &Vector, _: &Vector, d_state: &Vector, d_control: &Vector) -> Vector {
        -(d_state + d_control)
    }
}

impl physinv::sim::Vjp for Misleading {
    fn vjp(&self, _: &Vector, _: &Vector, w: &Vector) -> (Vector, Vector) {
        (-w, -w)
    }
}

/// A line search that finds no decrease is not convergence, even with regularisation (where
/// a stalled merit at an accepted step is).
#[test]
fn a_failed_line_search_is_not_convergence() {
    let physics = Physics::differentiable(Misleading);
    let u = vec![Vector::zeros(1); 3];
    let target = Vector::from_element(1, 1.0);
    for (alpha, mu) in [(0.0, 0.0), (1e-2, 0.0), (0.0, 1e-2)] {
        let s = EpisodeInverseSettings {
            alpha,
            mu,
            ..settings(5, LinearSolver::Dense)
        };
        let out = invert_episode(&physics, &Vector::zeros(1), &u, &target, &s).expect("runs");
        assert!(out.line_search_failed, "α {alpha}, μ {mu}");
        assert!(!out.converged, "α {alpha}, μ {mu}");
        assert_eq!(out.iterations, 1);
    }
}

/// The inversion reports the corrected trajectory: the open-loop simulation of its controls,
/// starting at `s_0` and ending on `s̃_T`. With `policy_at` evaluated there, a proxy of zero
/// (`c·f(obs(s̃_t)) = ũ_t` at every step) therefore makes the closed-loop rollout follow
/// `s̃_t` step by step and land on `s̃_T` (docs/method.md §4.1); this checks both halves.
#[test]
fn the_corrected_trajectory_is_where_the_corrected_controls_lead() {
    use physinv::episode::policy_at;
    let scenario = common::scenario(
        r#"(
    name: "corrected",
    simulator: (name: "point_mass"),
    episode: (steps: 6, observe: [State, Target, Time], control_scale: 2.0),
    data: (seed: 2, scenes: Sampled(initial: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]), target: Fixed([0.5, 0.5, 0.0, 0.0])), test_count: 3),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [(update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3))],
    training: (batch: 3, iterations: 1),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let scenes = trainer.test_scenes();
    let r = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
    // At the visited states, policy_at reproduces the rollout's controls.
    let again = policy_at(ctx.policy, &net, scenes, &r.states);
    for (a, b) in again
        .controls
        .iter()
        .flatten()
        .zip(r.controls.iter().flatten())
    {
        assert!((a - b).amax() < 1e-6, "{a} vs {b}");
    }
    for (b, scene) in scenes.iter().enumerate() {
        let out = invert_episode(
            ctx.physics,
            &scene.initial,
            &r.controls[b],
            &scene.target,
            &settings(1, LinearSolver::Dense),
        )
        .expect("inversion");
        let simulated = simulate(ctx.physics, &scene.initial, &out.controls, 0).expect("finite");
        assert_eq!(simulated, out.states);
        assert!((&out.states[6] - &scene.target).amax() < ROUND_OFF);
        // A policy that outputs ũ_t at s̃_t, run closed loop, reproduces s̃.
        let mut s = scene.initial.clone();
        for t in 0..6 {
            let at = out
                .states
                .iter()
                .position(|x| (x - &s).amax() < ROUND_OFF)
                .expect("the closed loop stays on the corrected trajectory");
            assert_eq!(at, t);
            s = ctx.physics.sim().step(&s, &out.controls[at]);
        }
        assert!((&s - &scene.target).amax() < ROUND_OFF);
    }
}

/// Matrix-free conjugate gradients give the same correction as the dense solve.
#[test]
fn conjugate_gradient_matches_the_dense_solve() {
    let physics = common::physics("oscillators", "()");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let s0 = Vector::from_vec(vec![0.2, 0.5, 0.1, 0.9]);
    let u = random_controls(&mut rng, 24, 1, 0.5);
    let dense =
        invert_episode(&physics, &s0, &u, &s0, &settings(1, LinearSolver::Dense)).expect("dense");
    let cg = LinearSolver::Cg {
        tolerance: 1e-13,
        max_iterations: 50,
    };
    let free = invert_episode(&physics, &s0, &u, &s0, &settings(1, cg)).expect("cg");
    for (d, c) in dense.controls.iter().zip(&free.controls) {
        assert!((d - c).amax() < 1e-7, "dense {d} vs cg {c}");
    }
}

/// With a force weight α > 0 the inversion trades reach against force: less force, and the
/// target is missed by a little.
#[test]
fn force_weight_reduces_the_force_of_the_inversion() {
    let physics = common::physics("point_mass", "()");
    let s0 = Vector::zeros(4);
    let u = vec![Vector::zeros(2); 10];
    let target = Vector::from_vec(vec![1.0, 0.0, 0.0, 0.0]);
    let energy = |c: &[Vector]| c.iter().map(|x| x.norm_squared()).sum::<f64>();
    let exact = invert_episode(
        &physics,
        &s0,
        &u,
        &target,
        &settings(5, LinearSolver::Dense),
    )
    .expect("exact");
    let mut soft = settings(5, LinearSolver::Dense);
    soft.alpha = 1e-2;
    let damped = invert_episode(&physics, &s0, &u, &target, &soft).expect("soft");
    assert!(energy(&damped.controls) < energy(&exact.controls));
    assert!(damped.residual > exact.residual);
    assert!(damped.converged, "stationary at the regularised optimum");
}

/// On the nonlinear pendulum the iterated inverse reaches a reachable target within tolerance.
#[test]
fn pendulum_iterated_inverse_reaches_a_reachable_target() {
    let physics = common::physics("pendulum", "()");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let steps = 30;
    let s0 = Vector::from_vec(vec![0.1, 0.0]);
    for trial in 0..5 {
        let reference = random_controls(&mut rng, steps, 1, 4.0);
        let target = simulate(&physics, &s0, &reference, 0).expect("finite")[steps].clone();
        let start = vec![Vector::zeros(1); steps];
        let s = EpisodeInverseSettings {
            tolerance: 1e-9,
            ..settings(30, LinearSolver::Dense)
        };
        let out = invert_episode(&physics, &s0, &start, &target, &s).expect("inverse");
        assert!(
            out.converged,
            "trial {trial}: residual {:.3e}",
            out.residual
        );
        assert!(out.residual <= 1e-9 * (1.0 + target.norm()));
        let reached = simulate(&physics, &s0, &out.controls, 0).expect("finite")[steps].clone();
        assert!((reached - &target).norm() <= 1e-8, "trial {trial}");
    }
}

/// The per-step chain on Burgers reaches s̃_T exactly and spreads the correction over time.
#[test]
fn burgers_chain_reaches_the_target_and_spreads_the_correction() {
    let physics = common::physics("burgers", "()");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let steps = 32;
    let s0 = Vector::from_fn(32, |i, _| (i as f64 * 0.3).sin());
    let u = random_controls(&mut rng, steps, 32, 0.1);
    let states = simulate(&physics, &s0, &u, 0).expect("finite");
    let goal = &states[steps] + Vector::from_element(32, 0.05);
    let out = invert_chain(
        &physics,
        &states,
        &u,
        &goal,
        &settings(1, LinearSolver::Dense),
    )
    .expect("chain");
    let simulated = simulate(&physics, &s0, &out.controls, 0).expect("finite");
    assert_eq!(
        simulated, out.states,
        "the chain reports the states its controls reach"
    );
    assert!((&simulated[steps] - &goal).amax() < 1e-9);
    let changes: Vec<f64> = out
        .controls
        .iter()
        .zip(&u)
        .map(|(a, b)| (a - b).norm())
        .collect();
    let mean = changes.iter().sum::<f64>() / steps as f64;
    let largest = changes.iter().cloned().fold(0.0, f64::max);
    assert!(
        largest < 4.0 * mean,
        "correction concentrated: max {largest:.3e}, mean {mean:.3e}"
    );
}

/// Mean episode loss of a batch for the network with parameters `params`.
fn batch_loss(
    trainer: &Trainer,
    physics: &Physics,
    policy: &Policy,
    objective: &Objective,
    net: &dyn physinv::net::Network,
) -> f64 {
    let scenes = &trainer.test_scenes()[..8];
    let r = rollout(physics, policy, net, scenes).expect("rollout");
    scenes
        .iter()
        .enumerate()
        .map(|(b, s)| objective.loss(&r.states[b], &r.controls[b], &s.target))
        .sum::<f64>()
        / scenes.len() as f64
}

fn check_bptt_against_finite_differences(source: &str) {
    let scenario = common::scenario(source);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let scenes = &trainer.test_scenes()[..8];
    let r = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
    let grads = Bptt::default()
        .update(&ctx, &net, scenes, &r)
        .expect("update")
        .grads
        .to_vec();
    let params = net.parameters();
    // Relative step for f32 parameters: large enough that the loss difference is far above
    // f32 round-off in the network, small enough for the central difference to be accurate.
    let h = 1e-2_f32;
    let mut checked = 0;
    for &k in &[0usize, 3, 17, params.len() / 2, params.len() - 1] {
        let eval = |delta: f32| {
            let mut p = params.clone();
            p[k] += delta;
            let mut n = net.clone();
            n.set_parameters(&p).expect("params");
            batch_loss(&trainer, ctx.physics, ctx.policy, ctx.objective, &n)
        };
        let fd = (eval(h) - eval(-h)) / (2.0 * h as f64);
        let g = grads[k] as f64;
        let scale = fd.abs().max(g.abs()).max(1e-6);
        assert!(
            (fd - g).abs() / scale < FD_TOLERANCE,
            "parameter {k}: BPTT {g:.6e} vs FD {fd:.6e}"
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// Closed loop: the adjoint passes through the network's input at every step.
#[test]
fn closed_loop_bptt_gradient_matches_finite_differences() {
    check_bptt_against_finite_differences(
        r#"(
    name: "bptt_fd",
    simulator: (name: "pendulum"),
    episode: (steps: 12, policy: ClosedLoop, observe: [State, Error, Time]),
    data: (seed: 9, scenes: Sampled(initial: Uniform(low: [-0.5, -0.5], high: [0.5, 0.5]), target: Uniform(low: [-1.0, -0.1], high: [1.0, 0.1])), test_count: 8),
    objective: (force_weight: 0.01, tracking_weight: 0.1),
    network: Mlp(hidden: [8, 8], activation: tanh),
    methods: [(update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 8, iterations: 1),
)"#,
    );
}

/// Open loop: the controls do not see the states.
#[test]
fn open_loop_bptt_gradient_matches_finite_differences() {
    check_bptt_against_finite_differences(
        r#"(
    name: "bptt_fd_open",
    simulator: (name: "oscillators"),
    episode: (steps: 24, policy: OpenLoop),
    data: (seed: 9, scenes: Sampled(initial: Uniform(low: [0.0, 0.0, 0.0, 0.0], high: [1.0, 1.0, 1.0, 1.0]), target: Initial), test_count: 8),
    network: Mlp(hidden: [8], activation: tanh),
    methods: [(update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 8, iterations: 1),
)"#,
    );
}

/// A truncation window as long as the episode is the full gradient; a short one is not.
#[test]
fn truncation_window_limits_the_adjoint() {
    let scenario = common::oscillators("(update: Bptt(), optimizer: Adam(lr: 1e-3))", 1);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx: Context<'_> = trainer.context();
    let net = trainer.initial_network().expect("net");
    let scenes = &trainer.test_scenes()[..4];
    let r = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
    let grad = |truncation| {
        Bptt {
            truncation,
            ..Bptt::default()
        }
        .update(&ctx, &net, scenes, &r)
        .expect("update")
        .grads
        .to_vec()
    };
    let full = grad(None);
    assert_eq!(full, grad(Some(24)));
    assert_ne!(full, grad(Some(2)));
}

/// A simulator whose state overflows after a few steps.
struct Exploding;

impl physinv::sim::Simulator for Exploding {
    fn name(&self) -> &str {
        "exploding"
    }
    fn state_dim(&self) -> usize {
        1
    }
    fn control_dim(&self) -> usize {
        1
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        Vector::from_element(1, state[0] * 1e200 + control[0])
    }
}

/// A non-finite state stops the rollout with an error naming the episode and the step.
#[test]
fn non_finite_state_is_an_error_naming_episode_and_step() {
    let physics = Physics::new(Exploding);
    let initial = Vector::from_element(1, 1.0);
    let controls = vec![Vector::zeros(1); 5];
    match simulate(&physics, &initial, &controls, 3) {
        Err(physinv::Error::NonFinite { episode, step }) => {
            assert_eq!((episode, step), (3, 2));
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}

/// A field-valued state (Burgers) is drawn as space-time heatmaps, a small state as lines.
#[test]
fn trained_network_figures_match_the_state_kind() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let scenario = common::scenario(
        r#"(
    name: "burgers_figure",
    simulator: (name: "burgers", params: (cells: 16)),
    episode: (steps: 4, observe: [State, Target]),
    data: (seed: 0, scenes: Generator("gaussian_clash"), test_count: 2),
    network: Mlp(hidden: [8], activation: tanh),
    methods: [(update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 2, iterations: 1),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let net = trainer.initial_network().expect("net");
    let files = physinv::report::draw_episodes(
        &scenario,
        "bptt+adam",
        &net,
        trainer.test_scenes(),
        dir.path(),
    )
    .expect("figures");
    assert!(
        files.iter().any(|f| f.ends_with("heatmaps_bptt_adam.png")),
        "{files:?}"
    );
}

/// With a closed-loop policy's feedback `u_t + K_t (s_t − s_t^ref)` in the loop, one inversion
/// of the linear point mass reaches s̃_T exactly when re-simulated with that feedback.
#[test]
fn feedback_inversion_reaches_the_target_through_the_feedback_loop() {
    use physinv::inverse::episode::{invert_episode_with_feedback, Feedback};
    let physics = common::physics("point_mass", "()");
    let sim = physics.sim();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let steps = 12;
    let s0 = Vector::from_vec(vec![0.3, -0.2, 0.1, 0.4]);
    let u = random_controls(&mut rng, steps, 2, 1.0);
    let gains: Vec<DMatrix<f64>> = (0..steps)
        .map(|_| DMatrix::from_fn(2, 4, |_, _| rng.gen_range(-0.5..0.5)))
        .collect();
    let reference = simulate(&physics, &s0, &u, 0).expect("finite");
    let target = Vector::from_vec(vec![1.0, 0.5, 0.0, 0.0]);
    let feedback = Feedback {
        gains: &gains,
        reference: &reference,
    };
    let out = invert_episode_with_feedback(
        &physics,
        &s0,
        &u,
        &target,
        &settings(1, LinearSolver::Dense),
        Some(feedback),
    )
    .expect("linear inversion succeeds");
    let mut s = s0.clone();
    for t in 0..steps {
        let applied = &out.controls[t] + &gains[t] * (&s - &reference[t]);
        s = sim.step(&s, &applied);
    }
    assert!(
        (s - &target).amax() < ROUND_OFF,
        "closed-loop target reached"
    );
    let cg = LinearSolver::Cg {
        tolerance: 1e-13,
        max_iterations: 50,
    };
    let free =
        invert_episode_with_feedback(&physics, &s0, &u, &target, &settings(1, cg), Some(feedback))
            .expect("cg");
    for (d, c) in out.controls.iter().zip(&free.controls) {
        assert!((d - c).amax() < 1e-7, "dense {d} vs cg {c}");
    }
}

/// The feedback gains are the policy's state sensitivity `∂u_t/∂s_t`, checked against central
/// differences of the network through the observation.
#[test]
fn feedback_gains_match_finite_differences() {
    let scenario = common::scenario(
        r#"(
    name: "gains",
    simulator: (name: "point_mass"),
    episode: (steps: 3, observe: [State, Error, Time], state_scale: [2.0, 2.0, 1.0, 1.0], control_scale: [3.0, 0.5]),
    data: (seed: 2, scenes: Sampled(initial: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]), target: Fixed([0.5, 0.5, 0.0, 0.0])), test_count: 4),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [(update: Sip(inverse: Episode(feedback: true)), optimizer: Adam(lr: 1e-3))],
    training: (batch: 4, iterations: 1),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("net");
    let scenes = trainer.test_scenes();
    let r = rollout(ctx.physics, ctx.policy, &net, scenes).expect("rollout");
    let gains = physinv::train::sip::feedback_gains(&ctx, &net, &r);
    let (b, t) = (2, 1);
    let h = 1e-2;
    let output = |s: &Vector| {
        let obs = ctx.policy.observation(s, &scenes[b].target, t);
        let input = DMatrix::from_column_slice(obs.len(), 1, &obs);
        ctx.policy.control(net.forward(&input).as_slice())
    };
    for i in 0..4 {
        let mut plus = r.states[b][t].clone();
        plus[i] += h;
        let mut minus = r.states[b][t].clone();
        minus[i] -= h;
        let fd = (output(&plus) - output(&minus)) / (2.0 * h);
        for j in 0..2 {
            let g = gains[b][t][(j, i)];
            let scale = g.abs().max(fd[j].abs()).max(1e-3);
            assert!(
                (g - fd[j]).abs() / scale < 1e-2,
                "K[{j},{i}] = {g:e}, FD {:e}",
                fd[j]
            );
        }
    }
}

/// Simulators that declare constant Jacobians have them (same `(A, B)` at random points), and
/// for them the shared episode Gramian gives the same inversion as the one formed per episode.
#[test]
fn a_shared_gramian_equals_the_formed_one_for_constant_jacobians() {
    use physinv::inverse::episode::constant_gramian;
    use std::sync::Arc;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    for (name, steps) in [("point_mass", 12), ("oscillators", 24), ("heat1d", 8)] {
        let physics = common::physics(name, "()");
        let jvp = physics.jvp().expect("jvp");
        assert!(jvp.constant_jacobians(), "{name}");
        let (n, m) = (jvp.state_dim(), jvp.control_dim());
        let point = |rng: &mut ChaCha8Rng| {
            let s = Vector::from_fn(n, |_, _| rng.gen_range(-1.0..1.0));
            let u = Vector::from_fn(m, |_, _| rng.gen_range(-1.0..1.0));
            jvp.jacobians(&s, &u)
        };
        let (a1, b1) = point(&mut rng);
        let (a2, b2) = point(&mut rng);
        assert!(
            (a1 - a2).amax() < 1e-14 && (b1 - b2).amax() < 1e-14,
            "{name}"
        );
        let s0 = Vector::from_fn(n, |_, _| rng.gen_range(-1.0..1.0));
        let u = random_controls(&mut rng, steps, m, 1.0);
        let target = &simulate(&physics, &s0, &u, 0).expect("finite")[steps]
            + Vector::from_fn(n, |_, _| rng.gen_range(-0.1..0.1));
        let formed = settings(1, LinearSolver::Dense);
        let shared = EpisodeInverseSettings {
            gramian: Some(Arc::new(
                constant_gramian(&physics, steps, None, None).expect("gramian"),
            )),
            ..formed.clone()
        };
        let a = invert_episode(&physics, &s0, &u, &target, &formed).expect("formed");
        let b = invert_episode(&physics, &s0, &u, &target, &shared).expect("shared");
        for (x, y) in a.controls.iter().zip(&b.controls) {
            assert!(
                (x - y).amax() < 1e-12 * (1.0 + x.amax()),
                "{name}: {x} vs {y}"
            );
        }
        assert_eq!(a.gramian_range, b.gramian_range, "{name}");
    }
}

/// On a small heated field (heat2d_control, 6 × 6 cells, 36 state components, 4 steps)
/// conjugate gradients give the dense solve's correction, and report how they ended: a few
/// dozen iterations within the tolerance, or, cut short, a residual above it.
#[test]
fn conjugate_gradient_matches_the_dense_solve_on_a_field() {
    let physics = common::physics("heat2d_control", "(cells: 6)");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let s0 = Vector::from_fn(36, |i, _| (i as f64 * 0.7).sin());
    let target = Vector::from_fn(36, |i, _| (i as f64 * 0.3).cos());
    let u = random_controls(&mut rng, 4, 36, 0.5);
    let dense = invert_episode(
        &physics,
        &s0,
        &u,
        &target,
        &settings(1, LinearSolver::Dense),
    )
    .expect("dense");
    assert_eq!((dense.cg_iterations, dense.cg_residual), (0, None));
    let cg = |max_iterations| LinearSolver::Cg {
        tolerance: 1e-12,
        max_iterations,
    };
    let free = invert_episode(&physics, &s0, &u, &target, &settings(1, cg(200))).expect("cg");
    for (d, c) in dense.controls.iter().zip(&free.controls) {
        assert!((d - c).amax() < 1e-8, "dense {d} vs cg {c}");
    }
    let residual = free.cg_residual.expect("conjugate gradients ran");
    assert!(residual <= 1e-12, "relative residual {residual:e}");
    assert!(
        (1..=200).contains(&free.cg_iterations),
        "{} iterations",
        free.cg_iterations
    );
    let short = invert_episode(&physics, &s0, &u, &target, &settings(1, cg(2))).expect("short");
    assert_eq!(short.cg_iterations, 2);
    assert!(short.cg_residual.expect("ran") > 1e-12);
}

/// Segment checkpointing (`Bptt(checkpoint_every: k)`) gives the gradient of the whole rollout
/// kept, to the bit: the recomputed segments repeat the forward passes exactly. On the
/// oscillators (an MLP observing the time, 24 steps) and on a heated field with a
/// convolutional controller, a force penalty and a tracking term (whose adjoint terms cross
/// the segment boundaries), for segments that divide the episode, that do not, of one step
/// and of the whole episode, and with a truncation window.
#[test]
fn segment_checkpointing_gives_the_same_gradient() {
    let field = common::scenario(
        r#"(
    name: "checkpointing",
    simulator: (name: "heat2d_control", params: (cells: 8)),
    episode: (steps: 6, policy: ClosedLoop, observe: [State, Target]),
    data: (seed: 2, scenes: Generator("boxes"), train: Fresh, test_count: 8, validation_count: 8),
    objective: (force_weight: 0.01, tracking_weight: 0.1),
    network: ResNet(blocks: 1, filters: 4, norm: none, activation: tanh, padding: periodic),
    methods: [(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 8, iterations: 1, seed: 0),
)"#,
    );
    let oscillators = common::oscillators("(update: Bptt(), optimizer: Adam(lr: 1e-3))", 1);
    for (scenario, segments) in [(oscillators, [1, 5, 7, 24]), (field, [1, 2, 4, 6])] {
        let trainer = Trainer::new(&scenario).expect("trainer");
        let ctx: Context<'_> = trainer.context();
        let net = trainer.initial_network().expect("net");
        let scenes = &trainer.test_scenes()[..8];
        let grad = |truncation, checkpoint_every| {
            let rule = Bptt {
                truncation,
                checkpoint_every,
            };
            batch_update(&rule, &ctx, &net, scenes)
                .expect("update")
                .grads
                .to_vec()
        };
        let full = grad(None, None);
        assert!(full.iter().any(|g| *g != 0.0));
        for k in segments {
            assert_eq!(
                full,
                grad(None, Some(k)),
                "{}: segments of {k}",
                scenario.spec.name
            );
        }
        assert_eq!(grad(Some(3), None), grad(Some(3), Some(2)));
    }
}
