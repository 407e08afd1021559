//! Integration tests of `physinv::net` through its public API.

use nalgebra::DMatrix;
use physinv::net::{
    enable_flush_to_zero, Activation, Mlp, MlpConfig, Network, Optimizer, OptimizerConfig,
    ParamGrads,
};
use physinv::Error;

/// Central-difference step on `f32` parameters/inputs: large enough that `f32` rounding of the
/// O(1) loss (~1e-7) divided by 2h stays ~1e-5, small enough that the O(h²) truncation error
/// is ~1e-4 relative for tanh networks.
const FD_STEP: f64 = 1e-2;
/// Relative tolerance of analytic vs finite-difference derivatives (f32 evaluation).
const FD_RTOL: f64 = 1e-2;
/// Absolute floor for derivatives close to zero.
const FD_ATOL: f64 = 1e-3;

fn small_config() -> MlpConfig {
    MlpConfig {
        inputs: 3,
        hidden: vec![5, 4],
        outputs: 2,
        activation: Activation::Tanh,
        output_activation: Activation::Tanh,
    }
}

fn inputs(rows: usize, batch: usize) -> DMatrix<f64> {
    DMatrix::from_fn(rows, batch, |i, b| {
        ((i * 7 + b * 3) as f64 * 0.37).sin() * 1.2
    })
}

fn cotangent(rows: usize, batch: usize) -> DMatrix<f64> {
    DMatrix::from_fn(rows, batch, |i, b| ((i * 5 + b * 11) as f64 * 0.53).cos())
}

fn weighted_output(net: &Mlp, x: &DMatrix<f64>, cot: &DMatrix<f64>) -> f64 {
    net.forward(x).component_mul(cot).sum()
}

fn assert_close(analytic: f64, fd: f64, what: &str) {
    let tol = FD_RTOL * analytic.abs().max(fd.abs()) + FD_ATOL;
    assert!(
        (analytic - fd).abs() <= tol,
        "{what}: analytic {analytic:.6e} vs finite difference {fd:.6e}"
    );
}

#[test]
fn shapes_of_forward_and_backward() {
    let net = Mlp::new(&small_config(), 3).unwrap();
    let x = inputs(3, 7);
    let y = net.forward(&x);
    assert_eq!(y.shape(), (2, 7));
    let (g, dx) = net.backward_with_input(&x, &cotangent(2, 7));
    assert_eq!(g.num_parameters(), net.num_parameters());
    assert_eq!(g.to_vec().len(), net.num_parameters());
    assert_eq!(dx.shape(), (3, 7));
    // Tanh output is bounded.
    assert!(y.iter().all(|v| v.abs() < 1.0));
}

#[test]
fn samples_are_independent_columns() {
    let net = Mlp::new(&small_config(), 3).unwrap();
    let x = inputs(3, 5);
    let y = net.forward(&x);
    for b in 0..5 {
        let single = net.forward(&x.columns(b, 1).into_owned());
        for i in 0..2 {
            assert!((single[(i, 0)] - y[(i, b)]).abs() < 1e-6);
        }
    }
}

#[test]
fn parameter_gradient_matches_finite_differences() {
    let mut net = Mlp::new(&small_config(), 11).unwrap();
    let x = inputs(3, 4);
    let cot = cotangent(2, 4);
    let grad = net.backward(&x, &cot).to_vec();
    let p0 = net.parameters();
    let mut checked = 0;
    for k in (0..p0.len()).step_by(2) {
        let mut p = p0.clone();
        p[k] = p0[k] + FD_STEP as f32;
        net.set_parameters(&p).unwrap();
        let plus = weighted_output(&net, &x, &cot);
        p[k] = p0[k] - FD_STEP as f32;
        net.set_parameters(&p).unwrap();
        let minus = weighted_output(&net, &x, &cot);
        let h = f64::from(p0[k] + FD_STEP as f32) - f64::from(p0[k] - FD_STEP as f32);
        assert_close(
            f64::from(grad[k]),
            (plus - minus) / h,
            &format!("param {k}"),
        );
        checked += 1;
    }
    net.set_parameters(&p0).unwrap();
    assert!(checked >= 20);
    // The gradient is not trivially zero.
    assert!(grad.iter().any(|g| g.abs() > 1e-2));
}

#[test]
fn input_cotangent_matches_finite_differences() {
    for act in [Activation::Tanh, Activation::Sigmoid] {
        let cfg = MlpConfig {
            activation: act,
            output_activation: Activation::Identity,
            ..small_config()
        };
        let net = Mlp::new(&cfg, 5).unwrap();
        let x = inputs(3, 3);
        let cot = cotangent(2, 3);
        let (_, dx) = net.backward_with_input(&x, &cot);
        for b in 0..3 {
            for i in 0..3 {
                let mut xp = x.clone();
                xp[(i, b)] += FD_STEP;
                let mut xm = x.clone();
                xm[(i, b)] -= FD_STEP;
                let fd = (weighted_output(&net, &xp, &cot) - weighted_output(&net, &xm, &cot))
                    / (2.0 * FD_STEP);
                assert_close(dx[(i, b)], fd, &format!("{act} input ({i},{b})"));
            }
        }
    }
}

#[test]
fn relu_network_gradient_matches_finite_differences_away_from_kinks() {
    let cfg = MlpConfig {
        inputs: 2,
        hidden: vec![6],
        outputs: 1,
        activation: Activation::Relu,
        output_activation: Activation::Identity,
    };
    let net = Mlp::new(&cfg, 2).unwrap();
    let x = inputs(2, 1);
    let cot = DMatrix::from_element(1, 1, 1.0);
    let (_, dx) = net.backward_with_input(&x, &cot);
    let h = 1e-4; // ReLU networks are piecewise linear: small step, exact away from kinks.
    for i in 0..2 {
        let mut xp = x.clone();
        xp[(i, 0)] += h;
        let mut xm = x.clone();
        xm[(i, 0)] -= h;
        let fd = (net.forward(&xp)[(0, 0)] - net.forward(&xm)[(0, 0)]) / (2.0 * h);
        assert_close(dx[(i, 0)], fd, "relu input");
    }
}

#[test]
fn batch_of_zero_is_handled() {
    let net = Mlp::new(&small_config(), 0).unwrap();
    let x = DMatrix::<f64>::zeros(3, 0);
    assert_eq!(net.forward(&x).shape(), (2, 0));
    let (g, dx) = net.backward_with_input(&x, &DMatrix::zeros(2, 0));
    assert_eq!(dx.shape(), (3, 0));
    assert_eq!(g.norm(), 0.0);
    assert_eq!(g.to_vec().len(), net.num_parameters());
    assert_eq!(net.backward(&x, &DMatrix::zeros(2, 0)).norm(), 0.0);
}

#[test]
fn same_seed_same_parameters() {
    let a = Mlp::new(&small_config(), 42).unwrap();
    let b = Mlp::new(&small_config(), 42).unwrap();
    let c = Mlp::new(&small_config(), 43).unwrap();
    assert_eq!(a.parameters(), b.parameters());
    assert_ne!(a.parameters(), c.parameters());
    // PyTorch-style init bound 1/sqrt(fan_in): first layer has fan_in 3.
    let bound = 1.0 / 3f32.sqrt();
    assert!(a.parameters()[..20].iter().all(|p| p.abs() <= bound));
}

#[test]
fn invalid_sizes_and_parameter_lengths_are_errors() {
    let mut cfg = small_config();
    cfg.outputs = 0;
    assert!(matches!(Mlp::new(&cfg, 0), Err(Error::Network(m)) if m.contains("outputs")));
    let mut net = Mlp::new(&small_config(), 0).unwrap();
    let err = net.set_parameters(&[0.0; 3]).unwrap_err().to_string();
    assert!(err.contains("3 values"), "{err}");
    assert!(ParamGrads::from_vec(&net.tensor_sizes(), &[1.0]).is_err());
}

#[test]
fn param_grads_arithmetic() {
    let net = Mlp::new(&small_config(), 0).unwrap();
    let n = net.num_parameters();
    let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
    let mut g = ParamGrads::from_vec(&net.tensor_sizes(), &v).unwrap();
    assert_eq!(g.to_vec(), v);
    let want = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    assert!((g.norm() - want).abs() < 1e-9 * want);
    g.add_assign(&ParamGrads::from_vec(&net.tensor_sizes(), &v).unwrap());
    g.scale(0.25);
    for (a, b) in g.to_vec().iter().zip(&v) {
        assert!((a - b * 0.5).abs() < 1e-7);
    }
    assert_eq!(ParamGrads::zeros(&net.tensor_sizes()).norm(), 0.0);
}

// ---------------------------------------------------------------------------------------------
// Optimizers

fn regression_data() -> (DMatrix<f64>, DMatrix<f64>) {
    let n = 16;
    let x = DMatrix::from_fn(1, n, |_, b| -1.0 + 2.0 * b as f64 / (n - 1) as f64);
    let y = x.map(|v| (2.0 * v).sin() + 0.5);
    (x, y)
}

/// Mean squared error `½·mean (f − y)²` and its output cotangent `(f − y)/N`.
fn mse(net: &Mlp, x: &DMatrix<f64>, y: &DMatrix<f64>) -> (f64, DMatrix<f64>) {
    let r = net.forward(x) - y;
    let n = r.ncols() as f64;
    (0.5 * r.norm_squared() / n, r / n)
}

fn train(cfg: &OptimizerConfig, steps: usize) -> (f64, f64, Vec<f32>) {
    let net_cfg = MlpConfig {
        inputs: 1,
        hidden: vec![16],
        outputs: 1,
        activation: Activation::Tanh,
        output_activation: Activation::Identity,
    };
    let mut net = Mlp::new(&net_cfg, 1).unwrap();
    let mut opt = Optimizer::new(cfg, None, &net);
    let (x, y) = regression_data();
    let initial = mse(&net, &x, &y).0;
    for _ in 0..steps {
        let (_, cot) = mse(&net, &x, &y);
        let g = net.backward(&x, &cot);
        opt.step(&mut net, &g);
    }
    (initial, mse(&net, &x, &y).0, net.parameters())
}

fn ron<T: serde::de::DeserializeOwned>(s: &str) -> T {
    ron::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn every_optimizer_reduces_a_regression_loss_tenfold() {
    const STEPS: usize = 400;
    for text in [
        "Adam(lr: 0.02)",
        "Sgd(lr: 0.2, momentum: 0.9)",
        "Sgd(lr: 0.1, momentum: 0.9, nesterov: true)",
        "RmsProp(lr: 0.005)",
        "Adagrad(lr: 0.1)",
        "Adadelta(lr: 1.0)",
    ] {
        let cfg: OptimizerConfig = ron(text);
        cfg.validate().unwrap();
        let (initial, last, _) = train(&cfg, STEPS);
        assert!(
            last * 10.0 <= initial,
            "{text}: loss {initial:.4e} -> {last:.4e} in {STEPS} steps"
        );
    }
}

#[test]
fn training_is_deterministic_and_thread_count_independent() {
    let cfg: OptimizerConfig = ron("Adam(lr: 0.01)");
    assert_eq!(train(&cfg, 20).2, train(&cfg, 20).2);

    // A batch large enough for the products to split over the pool (m·n·k ≥ 589,824).
    let net_cfg = MlpConfig {
        inputs: 64,
        hidden: vec![64],
        outputs: 64,
        activation: Activation::Tanh,
        output_activation: Activation::Identity,
    };
    let net = Mlp::new(&net_cfg, 9).unwrap();
    let x = inputs(64, 256);
    let cot = cotangent(64, 256);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let out = net.forward(&x);
            // Backward from the activations the forward pass kept, and from scratch (a clone
            // keeps none): the same bits.
            let (g, dx) = net.backward_with_input(&x, &cot);
            let (g_fresh, dx_fresh) = net.clone().backward_with_input(&x, &cot);
            assert_eq!((&g, &dx), (&g_fresh, &dx_fresh), "kept against recomputed");
            (out, g.to_vec(), dx)
        })
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
    assert_eq!(one.2, two.2);
}

/// One parameter vector updated by a reference implementation (f64) of each rule.
struct Reference {
    p: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    t: i32,
}

impl Reference {
    fn step(&mut self, cfg: &OptimizerConfig, g: &[f32]) {
        self.t += 1;
        for (k, &g) in g.iter().enumerate() {
            let g = f64::from(g);
            let (p, a, b) = (&mut self.p[k], &mut self.a[k], &mut self.b[k]);
            match *cfg {
                OptimizerConfig::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                } => {
                    *a = beta1 * *a + (1.0 - beta1) * g;
                    *b = beta2 * *b + (1.0 - beta2) * g * g;
                    let m_hat = *a / (1.0 - beta1.powi(self.t));
                    let v_hat = *b / (1.0 - beta2.powi(self.t));
                    *p -= lr * m_hat / (v_hat.sqrt() + eps);
                }
                OptimizerConfig::Sgd { lr, momentum, .. } => {
                    *a = momentum * *a + g;
                    *p -= lr * *a;
                }
                OptimizerConfig::RmsProp { lr, alpha, eps } => {
                    *a = alpha * *a + (1.0 - alpha) * g * g;
                    *p -= lr * g / (*a + eps).sqrt();
                }
                OptimizerConfig::Adagrad { lr, eps, .. } => {
                    *a += g * g;
                    *p -= lr * g / (a.sqrt() + eps);
                }
                OptimizerConfig::Adadelta { lr, rho, eps } => {
                    *a = rho * *a + (1.0 - rho) * g * g;
                    let d = (*b + eps).sqrt() / (*a + eps).sqrt() * g;
                    *b = rho * *b + (1.0 - rho) * d * d;
                    *p -= lr * d;
                }
            }
        }
    }
}

#[test]
fn optimizers_match_reference_formulas_over_three_steps() {
    /// f32 arithmetic in the optimizer vs f64 reference; parameters are O(1).
    const TOL: f64 = 2e-6;
    for text in [
        "Adam(lr: 1e-2)",
        "Adam(lr: 1e-3, beta1: 0.5, beta2: 0.9, eps: 1e-3)",
        "Sgd(lr: 0.1, momentum: 0.9)",
        "Sgd(lr: 0.1)",
        "RmsProp(lr: 1e-2)",
        "Adagrad(lr: 0.1, initial_accumulator: 0.5)",
        "Adadelta(lr: 1.0)",
    ] {
        let cfg: OptimizerConfig = ron(text);
        let mut net = Mlp::new(&small_config(), 4).unwrap();
        let mut opt = Optimizer::new(&cfg, None, &net);
        let n = net.num_parameters();
        let init_acc = match cfg {
            OptimizerConfig::Adagrad {
                initial_accumulator,
                ..
            } => initial_accumulator,
            _ => 0.0,
        };
        let mut reference = Reference {
            p: net.parameters().iter().map(|&v| f64::from(v)).collect(),
            a: vec![init_acc; n],
            b: vec![0.0; n],
            t: 0,
        };
        for s in 0..3 {
            let g: Vec<f32> = (0..n)
                .map(|k| ((k * 13 + s * 7) as f32 * 0.71).sin() * 0.3)
                .collect();
            let grads = ParamGrads::from_vec(&net.tensor_sizes(), &g).unwrap();
            opt.step(&mut net, &grads);
            reference.step(&cfg, &g);
        }
        for (k, (&got, &want)) in net.parameters().iter().zip(&reference.p).enumerate() {
            assert!(
                (f64::from(got) - want).abs() <= TOL,
                "{text}: param {k}: {got} vs reference {want}"
            );
        }
        assert_eq!(opt.steps(), 3);
    }
}

#[test]
fn nesterov_differs_from_classic_momentum() {
    let classic: OptimizerConfig = ron("Sgd(lr: 0.1, momentum: 0.9)");
    let nesterov: OptimizerConfig = ron("Sgd(lr: 0.1, momentum: 0.9, nesterov: true)");
    assert_ne!(train(&classic, 3).2, train(&nesterov, 3).2);
}

#[test]
fn clipping_bounds_the_applied_update() {
    let cfg: OptimizerConfig = ron("Sgd(lr: 1.0)");
    let mut net = Mlp::new(&small_config(), 4).unwrap();
    let n = net.num_parameters();
    let g = ParamGrads::from_vec(&net.tensor_sizes(), &vec![1.0; n]).unwrap();
    let raw_norm = (n as f64).sqrt();
    let displacement = |before: &[f32], after: &[f32]| {
        before
            .iter()
            .zip(after)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
            .sqrt()
    };

    let clip = 0.25;
    let mut opt = Optimizer::new(&cfg, Some(clip), &net);
    let before = net.parameters();
    let reported = opt.step(&mut net, &g);
    assert!(
        (reported - raw_norm).abs() < 1e-9,
        "returns the pre-clip norm"
    );
    let moved = displacement(&before, &net.parameters());
    assert!(
        moved <= clip * (1.0 + 1e-4),
        "update {moved} exceeds clip {clip}"
    );
    assert!(
        moved >= clip * (1.0 - 1e-4),
        "update {moved} should reach the clip"
    );

    // Without clipping (or with a clip above the norm) the full step is taken.
    for clip in [None, Some(1e6)] {
        let mut opt = Optimizer::new(&cfg, clip, &net);
        let before = net.parameters();
        opt.step(&mut net, &g);
        let moved = displacement(&before, &net.parameters());
        assert!(
            (moved - raw_norm).abs() < 1e-4 * raw_norm,
            "{clip:?}: {moved}"
        );
    }
}

#[test]
fn non_finite_gradients_leave_the_network_unchanged() {
    let cfg: OptimizerConfig = ron("Adam(lr: 1e-2)");
    let mut net = Mlp::new(&small_config(), 4).unwrap();
    let mut opt = Optimizer::new(&cfg, Some(1.0), &net);
    let mut g = vec![0.1; net.num_parameters()];
    g[3] = f32::NAN;
    let before = net.parameters();
    let grads = ParamGrads::from_vec(&net.tensor_sizes(), &g).unwrap();
    let norm = opt.step(&mut net, &grads);
    assert!(norm.is_nan());
    assert_eq!(net.parameters(), before);
    assert_eq!(opt.steps(), 0);
}

#[test]
fn optimizer_state_round_trip_resumes_identically() {
    let cfg: OptimizerConfig = ron("Adam(lr: 1e-2)");
    let (x, y) = regression_data();
    let net_cfg = MlpConfig {
        inputs: 1,
        hidden: vec![8],
        outputs: 1,
        activation: Activation::Tanh,
        output_activation: Activation::Identity,
    };
    let mut net = Mlp::new(&net_cfg, 3).unwrap();
    let mut opt = Optimizer::new(&cfg, Some(1.0), &net);
    let step = |net: &mut Mlp, opt: &mut Optimizer| {
        let (_, cot) = mse(net, &x, &y);
        let g = net.backward(&x, &cot);
        opt.step(net, &g);
    };
    for _ in 0..5 {
        step(&mut net, &mut opt);
    }
    let state = opt.state();
    let params = net.parameters();
    for _ in 0..5 {
        step(&mut net, &mut opt);
    }

    let mut resumed_net = Mlp::new(&net_cfg, 99).unwrap();
    resumed_net.set_parameters(&params).unwrap();
    let mut resumed = Optimizer::new(&cfg, Some(1.0), &resumed_net);
    resumed.restore_state(&state).unwrap();
    assert_eq!(resumed.steps(), 5);
    for _ in 0..5 {
        step(&mut resumed_net, &mut resumed);
    }
    assert_eq!(net.parameters(), resumed_net.parameters());

    assert!(resumed.restore_state(&state[1..]).is_err());
    let mut bad = state.clone();
    bad[0] = -1.0;
    assert!(resumed.restore_state(&bad).is_err());
}

#[test]
fn clones_are_independent_of_updates() {
    let cfg: OptimizerConfig = ron("Sgd(lr: 0.1)");
    let mut net = Mlp::new(&small_config(), 4).unwrap();
    let snapshot = net.clone();
    let before = net.parameters();
    let mut opt = Optimizer::new(&cfg, None, &net);
    let g = ParamGrads::from_vec(&net.tensor_sizes(), &vec![1.0; net.num_parameters()]).unwrap();
    opt.step(&mut net, &g);
    assert_ne!(net.parameters(), before);
    assert_eq!(snapshot.parameters(), before);
    let mut other = snapshot.clone();
    other.set_parameters(&vec![0.0; before.len()]).unwrap();
    assert_eq!(snapshot.parameters(), before);
}

#[test]
fn set_lr_changes_the_step_size() {
    let cfg: OptimizerConfig = ron("Sgd(lr: 1.0)");
    let mut net = Mlp::new(&small_config(), 4).unwrap();
    let mut opt = Optimizer::new(&cfg, None, &net);
    opt.set_lr(0.5);
    assert_eq!(opt.config().lr(), 0.5);
    let before = net.parameters();
    let g = ParamGrads::from_vec(&net.tensor_sizes(), &vec![1.0; net.num_parameters()]).unwrap();
    opt.step(&mut net, &g);
    for (a, b) in before.iter().zip(net.parameters()) {
        assert!((a - b - 0.5).abs() < 1e-6);
    }
}

#[test]
fn optimizer_config_ron_defaults_names_and_validation() {
    assert_eq!(
        ron::<OptimizerConfig>("Adam(lr: 1e-3)"),
        OptimizerConfig::Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8
        }
    );
    assert_eq!(
        ron::<OptimizerConfig>("Sgd(lr: 0.01, momentum: 0.9)"),
        OptimizerConfig::Sgd {
            lr: 0.01,
            momentum: 0.9,
            nesterov: false
        }
    );
    assert_eq!(
        ron::<OptimizerConfig>("RmsProp(lr: 3e-5)"),
        OptimizerConfig::RmsProp {
            lr: 3e-5,
            alpha: 0.9,
            eps: 1e-7
        }
    );
    assert_eq!(
        ron::<OptimizerConfig>("Adagrad(lr: 3e-3)"),
        OptimizerConfig::Adagrad {
            lr: 3e-3,
            eps: 1e-10,
            initial_accumulator: 0.0
        }
    );
    assert_eq!(
        ron::<OptimizerConfig>("Adadelta(lr: 1.0)"),
        OptimizerConfig::Adadelta {
            lr: 1.0,
            rho: 0.9,
            eps: 1e-6
        }
    );
    let names: Vec<&str> = [
        "Adam(lr: 1)",
        "Sgd(lr: 1)",
        "RmsProp(lr: 1)",
        "Adagrad(lr: 1)",
        "Adadelta(lr: 1)",
    ]
    .iter()
    .map(|s| ron::<OptimizerConfig>(s).name())
    .collect();
    assert_eq!(names, ["adam", "sgd", "rmsprop", "adagrad", "adadelta"]);

    let err = ron::from_str::<OptimizerConfig>("Adam(lr: 1e-3, bogus: 1)").unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
    assert!(
        ron::from_str::<OptimizerConfig>("Adam()").is_err(),
        "lr is required"
    );
    assert!(ron::from_str::<OptimizerConfig>("Lbfgs(lr: 1)").is_err());

    for (text, field) in [
        ("Adam(lr: 0)", "`lr`"),
        ("Adam(lr: inf)", "`lr`"),
        ("Adam(lr: 1e-3, beta2: 1.0)", "`beta2`"),
        ("Adam(lr: 1e-3, eps: -1)", "`eps`"),
        ("Sgd(lr: 1e-3, momentum: 1.5)", "`momentum`"),
        ("Sgd(lr: 1e-3, nesterov: true)", "`nesterov`"),
        ("RmsProp(lr: 1e-3, alpha: -0.1)", "`alpha`"),
        (
            "Adagrad(lr: 1e-3, initial_accumulator: -1)",
            "`initial_accumulator`",
        ),
        ("Adadelta(lr: 1.0, rho: 1.0)", "`rho`"),
    ] {
        let err = ron::<OptimizerConfig>(text).validate().unwrap_err();
        assert!(err.contains(field), "{text}: {err}");
    }
}

#[test]
fn mlp_config_reads_from_ron() {
    let cfg: MlpConfig =
        ron("(inputs: 3, hidden: [5, 4], outputs: 2, activation: tanh, output_activation: tanh)");
    assert_eq!(cfg, small_config());
    for (name, act) in [
        ("relu", Activation::Relu),
        ("sigmoid", Activation::Sigmoid),
        ("identity", Activation::Identity),
    ] {
        assert_eq!(ron::<Activation>(name), act);
        assert_eq!(act.to_string(), name);
    }
    assert!(ron::from_str::<MlpConfig>(
        "(inputs: 3, hidden: [], outputs: 2, activation: tanh, output_activation: tanh, x: 1)"
    )
    .is_err());
}

// ---------------------------------------------------------------------------------------------
// Save / load

#[test]
fn save_load_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.mlp");
    let net = Mlp::new(&small_config(), 8).unwrap();
    net.save(&path).unwrap();
    let loaded = Mlp::load(&path, &small_config()).unwrap();
    assert_eq!(loaded.parameters(), net.parameters());
    let x = inputs(3, 6);
    assert_eq!(loaded.forward(&x), net.forward(&x));
    // Overwriting works and leaves no temporary files behind.
    net.save(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn load_with_a_different_config_names_the_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.mlp");
    let stored = MlpConfig {
        hidden: vec![32, 64],
        ..small_config()
    };
    Mlp::new(&stored, 0).unwrap().save(&path).unwrap();
    let expected = MlpConfig {
        hidden: vec![16],
        activation: Activation::Relu,
        ..small_config()
    };
    match Mlp::load(&path, &expected) {
        Err(Error::Network(msg)) => {
            assert!(
                msg.contains(
                    "network Mlp(hidden:[32,64],activation:tanh,output_activation:tanh) in \
                     file, Mlp(hidden:[16],activation:relu,output_activation:tanh) expected"
                ),
                "{msg}"
            );
        }
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[test]
fn corrupt_or_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.mlp");
    Mlp::new(&small_config(), 8).unwrap().save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let mut bad_header_len = bytes.clone();
    bad_header_len[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", b"hello, not a network".to_vec()),
        ("truncated payload", bytes[..bytes.len() - 5].to_vec()),
        ("truncated header", bytes[..20].to_vec()),
        ("flipped payload bit", flipped),
        ("header length", bad_header_len),
    ];
    for (what, content) in cases {
        let path = dir.path().join(format!("{what}.mlp"));
        std::fs::write(&path, content).unwrap();
        let err = Mlp::load(&path, &small_config()).unwrap_err();
        assert!(
            matches!(err, Error::Network(ref m) if m.contains("not a valid network file")),
            "{what}: {err}"
        );
    }
    let missing = Mlp::load(&dir.path().join("missing.mlp"), &small_config());
    assert!(matches!(missing, Err(Error::Io { .. })));
    // Saving below a regular file is an error, not a panic (missing directories are made,
    // as for every atomic write).
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let err = Mlp::new(&small_config(), 0)
        .unwrap()
        .save(&blocker.join("net.mlp"));
    assert!(matches!(err, Err(Error::Io { .. })));
}

// ---------------------------------------------------------------------------------------------
// Misc

#[test]
fn types_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mlp>();
    assert_send_sync::<ParamGrads>();
    assert_send_sync::<Optimizer>();
}

#[test]
fn flush_to_zero_keeps_training_working() {
    std::thread::spawn(|| {
        enable_flush_to_zero();
        let cfg: OptimizerConfig = ron("Adam(lr: 0.02)");
        let (initial, last, _) = train(&cfg, 100);
        assert!(last < initial);
    })
    .join()
    .unwrap();
}
