//! Half-inverse gradients and Gauss-Newton: the residual Jacobian against central differences
//! (closed and open loop), the Gauss-Newton step against a direct solve, resume, and real
//! progress on the oscillators.

mod common;

use nalgebra::{DMatrix, DVector};
use physinv::episode::rollout;
use physinv::net::Network;
use physinv::scenario::Scenario;
use physinv::train::hig::Spectrum;
use physinv::train::residuals::{residual_jacobian, Residuals};
use physinv::train::trainer::Silent;
use physinv::train::{TrainControl, Trainer};
use rand::{Rng, SeedableRng};

/// A closed-loop point mass with a force penalty and tracking terms, so that every kind of
/// residual row (terminal, force, tracking) is present.
fn point_mass(methods: &str, iterations: usize) -> Scenario {
    common::scenario(&format!(
        r#"(
    name: "pm_hig",
    simulator: (name: "point_mass"),
    episode: (steps: 6, policy: ClosedLoop, observe: [State, Target, Time]),
    objective: (force_weight: 0.01, tracking_weight: 0.1, terminal_weight: [1.0, 2.0, 0.0, 0.5]),
    data: (seed: 5, scenes: Sampled(
        initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
        target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])),
        test_count: 16, validation_count: 16),
    network: Mlp(hidden: [8, 8], activation: tanh),
    methods: [{methods}],
    training: (batch: 3, iterations: {iterations}, log_every: 1, seed: 0),
)"#
    ))
}

/// Residuals of the first training batch of method 0 at parameters `params`.
fn residuals_at(scenario: &Scenario, net: &dyn Network) -> Residuals {
    let trainer = Trainer::new(scenario).expect("trainer");
    let ctx = trainer.context();
    let scenes = &trainer.test_scenes()[..3];
    let episodes = rollout(&scenario.physics, ctx.policy, net, scenes).expect("rollout");
    residual_jacobian(&ctx, net, scenes, &episodes).expect("residuals")
}

/// `𝒥 v` against `(r(θ + h v) − r(θ − h v)) / 2h` along random directions.
fn check_jacobian(scenario: &Scenario) {
    let trainer = Trainer::new(scenario).expect("trainer");
    let net = trainer.initial_network().expect("net");
    let at = residuals_at(scenario, &net);
    let theta = net.parameters();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let h = 1e-2_f32;
    for _ in 0..3 {
        let v: Vec<f32> = (0..theta.len()).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let shifted = |sign: f32| {
            let mut moved = net.clone();
            let p: Vec<f32> = theta
                .iter()
                .zip(&v)
                .map(|(t, v)| t + sign * h * v)
                .collect();
            moved.set_parameters(&p).expect("params");
            residuals_at(scenario, &moved).values
        };
        let fd = (shifted(1.0) - shifted(-1.0)) / (2.0 * f64::from(h));
        let dv = DVector::from_iterator(v.len(), v.iter().map(|&x| f64::from(x)));
        let exact = at.jacobian.tr_mul(&dv);
        let error = (&exact - &fd).norm();
        assert!(
            error <= 2e-3 * exact.norm(),
            "Jacobian-vector product off by {error:.3e} (norm {:.3e})",
            exact.norm()
        );
    }
}

#[test]
fn residual_jacobian_matches_central_differences_closed_loop() {
    let scenario = point_mass("(update: Hig(), optimizer: Sgd(lr: 1.0))", 1);
    let at = residuals_at(
        &scenario,
        &Trainer::new(&scenario).unwrap().initial_network().unwrap(),
    );
    // 3 weighted terminal components + 6 steps × 2 controls + 5 × 4 tracking components.
    assert_eq!(at.rows_per_episode, 3 + 12 + 20);
    check_jacobian(&scenario);
}

#[test]
fn residual_jacobian_matches_central_differences_open_loop() {
    let scenario = common::oscillators("(update: Hig(), optimizer: Sgd(lr: 1.0))", 1);
    check_jacobian(&scenario);
}

/// With one episode, κ = 1 and no truncation the direction is the minimum-norm Gauss-Newton
/// step `𝒥ᵀ (𝒥 𝒥ᵀ)⁻¹ g` of a direct solve.
#[test]
fn gauss_newton_on_one_episode_equals_the_direct_solve() {
    let scenario = common::oscillators("(update: GaussNewton(), optimizer: Sgd(lr: 1.0))", 1);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let net = trainer.initial_network().expect("net");
    let ctx = trainer.context();
    let scenes = &trainer.test_scenes()[..1];
    let episodes = rollout(&scenario.physics, ctx.policy, &net, scenes).expect("rollout");
    let r = residual_jacobian(&ctx, &net, scenes, &episodes).expect("residuals");
    let g = &r.values * 2.0;
    let spectrum = Spectrum::new(&r.jacobian, 0.0, None).expect("svd");
    assert_eq!(spectrum.kept(), 4, "four terminal rows, full rank");
    let step = spectrum.apply(&g, 1.0);
    let gram: DMatrix<f64> = r.jacobian.tr_mul(&r.jacobian);
    let direct = &r.jacobian * gram.cholesky().expect("full rank").solve(&g);
    let error = (&step - &direct).norm();
    assert!(
        error <= 1e-9 * direct.norm(),
        "{error:.3e} vs {:.3e}",
        direct.norm()
    );
    // And it solves the linearised problem: 𝒥 step = g.
    assert!((r.jacobian.tr_mul(&step) - &g).norm() <= 1e-9 * g.norm());
}

fn loss_of(outcome: &physinv::train::TrainOutcome) -> (f64, f64) {
    let first = outcome.log[0].metrics.get("loss").expect("initial loss");
    (first, outcome.metrics.get("loss").expect("final loss"))
}

/// HIG (SGD, lr 1, batch 32 as in the book) cuts the oscillator loss by at least 100× in 150
/// iterations.
#[test]
fn hig_cuts_the_oscillator_loss_a_hundredfold() {
    let scenario = common::oscillators("(update: Hig(), optimizer: Sgd(lr: 1.0), batch: 32)", 150);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let outcome = trainer.train(0, &mut Silent).expect("train");
    let (first, last) = loss_of(&outcome);
    assert!(last * 100.0 < first, "HIG loss {first:.3e} → {last:.3e}");
    let row = outcome.log.iter().rev().find(|r| !r.diagnostics.is_empty());
    let diagnostics = &row.expect("diagnostics logged").diagnostics;
    for name in [
        "sigma_max",
        "sigma_min_kept",
        "singular_kept",
        "residual_rows",
    ] {
        assert!(diagnostics.get(name).is_some(), "{name} missing");
    }
}

/// A HIG run resumed from its checkpoint ends bit-identical to an uninterrupted one.
#[test]
fn resumed_hig_training_equals_uninterrupted_training() {
    let methods = "(name: \"HIG\", update: Hig(), optimizer: Sgd(lr: 1.0))";
    let full = point_mass(methods, 6);
    let half = point_mass(methods, 3);
    let straight = Trainer::new(&full).unwrap().train(0, &mut Silent).unwrap();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("HIG.json");
    let control = TrainControl {
        checkpoint_path: Some(path.clone()),
        ..TrainControl::default()
    };
    Trainer::new(&half)
        .unwrap()
        .train_with(0, &mut Silent, &control)
        .unwrap();
    let resume = TrainControl {
        resume: Some(physinv::train::Checkpoint::load(&path).expect("checkpoint")),
        ..TrainControl::default()
    };
    let resumed = Trainer::new(&full)
        .unwrap()
        .train_with(0, &mut Silent, &resume)
        .unwrap();
    assert_eq!(resumed.iterations, 6);
    assert_eq!(straight.net.parameters(), resumed.net.parameters());
    assert_eq!(straight.metrics, resumed.metrics);
}

/// Same seed ⇒ the same HIG run with one or two threads.
#[test]
fn hig_is_deterministic_across_thread_counts() {
    let scenario = point_mass("(update: Hig(), optimizer: Sgd(lr: 0.5))", 4);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| {
                let outcome = Trainer::new(&scenario)
                    .unwrap()
                    .train(0, &mut Silent)
                    .unwrap();
                outcome.net.parameters()
            })
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn a_jacobian_too_large_for_memory_is_refused_naming_its_sizes() {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/oscillators_book.ron"
    ))
    .expect("book scenario")
    .replace("batch: 32", "batch: 100000");
    let e = Scenario::parse(
        &source,
        std::path::Path::new("book.ron"),
        &physinv::Registry::with_builtins(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("residual Jacobian (400000 rows × 1524 parameters) and its SVD"),
        "{e}"
    );
}
