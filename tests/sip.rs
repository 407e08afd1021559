//! SIP's proxy in the network's units (docs/method.md §4.4): its gradient is that of
//! `½ Σ_t ‖y_t − ỹ_t‖²` with `ỹ = ũ / c`, and training with it does not depend on the units
//! each control is measured in, while back-propagation through time does.

mod common;

use physinv::episode::{rollout, simulate};
use physinv::inverse::episode::{invert_episode, EpisodeInverseSettings};
use physinv::scenario::{LinearSolver, Scenario};
use physinv::sim::{Jvp, ParamError, Physics, Simulator, Vector, Vjp};
use physinv::train::trainer::Silent;
use physinv::train::{rule_for, Trainer};
use physinv::Registry;
use std::path::Path;
use std::sync::Arc;

/// A simulator whose control component `component` is measured in units `factor` times
/// larger: it applies `u ⊙ f` to the inner simulator, and its typical control magnitudes are
/// the inner ones divided by `f`. The same physics in other units.
struct Rescaled {
    inner: Physics,
    factor: Vector,
}

impl Rescaled {
    fn physical(&self, control: &Vector) -> Vector {
        control.component_mul(&self.factor)
    }
}

impl Simulator for Rescaled {
    fn name(&self) -> &str {
        "rescaled"
    }
    fn state_dim(&self) -> usize {
        self.inner.sim().state_dim()
    }
    fn control_dim(&self) -> usize {
        self.inner.sim().control_dim()
    }
    fn dt(&self) -> f64 {
        self.inner.sim().dt()
    }
    fn control_scale(&self) -> Option<Vector> {
        let m = self.control_dim();
        let inner = self.inner.sim().control_scale();
        Some(
            inner
                .unwrap_or_else(|| Vector::from_element(m, 1.0))
                .component_div(&self.factor),
        )
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.inner.sim().step(state, &self.physical(control))
    }
}

impl Jvp for Rescaled {
    fn jvp(&self, state: &Vector, control: &Vector, ds: &Vector, du: &Vector) -> Vector {
        let jvp = self.inner.jvp().expect("inner JVP");
        jvp.jvp(state, &self.physical(control), ds, &self.physical(du))
    }
}

impl Vjp for Rescaled {
    fn vjp(&self, state: &Vector, control: &Vector, cotangent: &Vector) -> (Vector, Vector) {
        let vjp = self.inner.vjp().expect("inner VJP");
        let (ws, wu) = vjp.vjp(state, &self.physical(control), cotangent);
        (ws, self.physical(&wu))
    }
}

/// Parameters of the `rescaled` test simulator: the built-in simulator `inner` with parameters
/// `inner_params` (RON), its second control measured in units `factor` times larger.
#[derive(serde::Deserialize)]
struct RescaledParams {
    inner: String,
    inner_params: String,
    factor: f64,
}

fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    registry.register(
        "rescaled",
        "a built-in simulator, its second control in other units",
        |p: RescaledParams| -> Result<Physics, ParamError> {
            let inner = common::physics(&p.inner, &p.inner_params);
            let mut factor = Vector::from_element(inner.sim().control_dim(), 1.0);
            factor[1] = p.factor;
            Ok(Physics::differentiable_arc(Arc::new(Rescaled {
                inner,
                factor,
            })))
        },
    );
    registry
}

/// The conditioning study's problem, closed loop over 8 steps (more controls than states, so
/// the inversion must choose among corrections), on the `rescaled` anisotropic point mass, with
/// terminal weights `weights`.
fn conditioning(factor: f64, weights: [f64; 4], method: &str) -> Scenario {
    let [a, b, c, d] = weights;
    rescaled(
        "anisotropic_point_mass",
        "(xi: 8.0, phi_deg: 45.0, drag: 0.5, dt: 0.1)",
        factor,
        "initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
         target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])",
        &format!("force_weight: 0.0, terminal_weight: [{a:?}, {b:?}, {c:?}, {d:?}]"),
        method,
    )
}

/// Heat on 16 cells with its four actuators, closed loop over 8 steps: actuators with
/// different footprints, so that which correction is the least change depends on the units
/// it is measured in.
fn heat(factor: f64, method: &str) -> Scenario {
    let zeros = vec!["0.0"; 16].join(", ");
    let ones = vec!["0.1"; 16].join(", ");
    rescaled(
        "heat1d",
        "(cells: 16)",
        factor,
        &format!("initial: Zeros, target: Uniform(low: [{zeros}], high: [{ones}])"),
        "force_weight: 0.0",
        method,
    )
}

/// A closed-loop scenario over 8 steps on the `rescaled` simulator.
fn rescaled(
    inner: &str,
    inner_params: &str,
    factor: f64,
    scenes: &str,
    objective: &str,
    method: &str,
) -> Scenario {
    let source = format!(
        r#"(
    name: "units",
    simulator: (name: "rescaled", params: (inner: "{inner}", inner_params: "{inner_params}", factor: {factor:?})),
    episode: (steps: 8, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 3, scenes: Sampled({scenes}), train: Pool(64), test_count: 16, validation_count: 0),
    objective: ({objective}),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [(update: {method}, optimizer: Adam(lr: 3e-3))],
    training: (batch: 16, iterations: 40, log_every: 40, seed: 0),
)"#
    );
    Scenario::parse(&source, Path::new("<units>"), &registry()).expect("scenario")
}

const ONES: [f64; 4] = [1.0, 1.0, 1.0, 1.0];

/// The trained parameters and the test episodes' final states.
fn train(scenario: &Scenario) -> (Vec<f32>, Vec<Vector>) {
    let trainer = Trainer::new(scenario).expect("trainer");
    let outcome = trainer.train(0, &mut Silent).expect("training");
    let ctx = trainer.context();
    let r = rollout(
        ctx.physics,
        ctx.policy,
        outcome.net.as_ref(),
        trainer.test_scenes(),
    )
    .expect("rollout");
    let finals = r.states.iter().map(|s| s[s.len() - 1].clone()).collect();
    (outcome.net.parameters(), finals)
}

fn relative_difference(a: &[f32], b: &[f32]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let norm: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
    (diff / norm).sqrt()
}

fn largest_state_difference(a: &[Vector], b: &[Vector]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).amax())
        .fold(0.0, f64::max)
}

/// Measuring the second control in units 10³ times larger (the simulator's control scale
/// changes with it, so a network output means the same control) leaves SIP's training the
/// same up to rounding: the network, and the states its episodes reach. It did not with the
/// proxy in control units, `½‖u − ũ‖²`, which weights the actuators by their scale squared
/// (the point mass), nor with the least change of the inversion measured in control units (the
/// heat equation, whose actuators differ; the point mass's axes share one response, so there
/// every metric gives the same correction). Back-propagation through time is the same too: its
/// output cotangent `c ⊙ ∂L/∂u` does not depend on the units of the control either. (The
/// heat equation's exact inversion is left out: its Gramian's conditioning amplifies rounding
/// beyond the tolerance; the damped one is the shipped arm.)
#[test]
fn sip_does_not_depend_on_the_units_of_a_control() {
    let sip = "Sip(inverse: Episode())";
    let damped = "Sip(inverse: Episode(damping: 0.3, max_iterations: 1))";
    let cases: [(&str, &dyn Fn(f64) -> Scenario); 3] = [
        ("point mass, SIP", &|f| conditioning(f, ONES, sip)),
        ("point mass, BPTT", &|f| conditioning(f, ONES, "Bptt()")),
        ("heat, damped SIP", &|f| heat(f, damped)),
    ];
    for (name, scenario) in cases {
        let (net, states) = train(&scenario(1.0));
        let (rescaled_net, rescaled_states) = train(&scenario(1e3));
        let weights = relative_difference(&net, &rescaled_net);
        let reached = largest_state_difference(&states, &rescaled_states);
        assert!(weights < 1e-4, "{name}: the network moved by {weights:e}");
        assert!(
            reached < 1e-4,
            "{name}: the final states moved by {reached:e}"
        );
    }
}

/// Weighting the terminal error of the second position by 10³ (measuring it in units 10³ times
/// smaller in the loss) leaves SIP's training the same: its Newton target and its inversion
/// do not depend on the weights. Back-propagation through time follows the weighted gradient
/// and trains another network.
#[test]
fn sip_does_not_depend_on_the_units_of_the_loss() {
    let weighted = [1.0, 1e3, 1.0, 1.0];
    let sip = "Sip(inverse: Episode())";
    let (net, states) = train(&conditioning(1.0, ONES, sip));
    let (weighted_net, weighted_states) = train(&conditioning(1.0, weighted, sip));
    let weights = relative_difference(&net, &weighted_net);
    let reached = largest_state_difference(&states, &weighted_states);
    assert!(weights < 1e-4, "SIP's network moved by {weights:e}");
    assert!(reached < 1e-4, "SIP's final states moved by {reached:e}");

    let (net, _) = train(&conditioning(1.0, ONES, "Bptt()"));
    let (weighted_net, _) = train(&conditioning(1.0, weighted, "Bptt()"));
    let weights = relative_difference(&net, &weighted_net);
    assert!(weights > 1e-2, "BPTT's network moved by only {weights:e}");
}

/// The SIP update is the gradient of the proxy `½ Σ_b Σ_t ‖y_bt − ỹ_bt‖²` (batch mean) in the
/// network's output units, `ỹ = ũ / c`: checked against central differences in the weights of a
/// linear policy (for which the proxy is quadratic in the weights, so central differences are
/// exact up to rounding), with control scales 1 and 100 so that a proxy weighted by `c²`
/// fails. Open loop over two steps of the anisotropic point mass, where `ũ` is unique.
#[test]
fn sip_gradient_is_the_proxy_gradient_in_network_units() {
    let scenario = common::scenario(
        r#"(
    name: "proxy",
    simulator: (name: "anisotropic_point_mass", params: (xi: 4.0, phi_deg: 30.0, drag: 0.5, dt: 0.1)),
    episode: (steps: 2, policy: OpenLoop, observe: [State, Target], control_scale: [1.0, 100.0]),
    data: (
        seed: 5,
        scenes: Sampled(
            initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
            target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]),
        ),
        test_count: 6,
        validation_count: 0,
    ),
    network: Linear(scale: 0.1),
    methods: [(update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3))],
    training: (batch: 6, iterations: 1, seed: 0),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    let ctx = trainer.context();
    let net = trainer.initial_network().expect("network");
    let scenes = trainer.test_scenes();
    let r = rollout(ctx.physics, ctx.policy, net.as_ref(), scenes).expect("rollout");
    let rule = rule_for(&scenario.spec.methods[0], &ctx);
    let update = rule.update(&ctx, net.as_ref(), scenes, &r).expect("update");
    assert_eq!(update.stats.inverse_failures, 0);

    // The teachers: the unique controls that reach the target (η = 1 open loop).
    let scale = ctx.policy.control_scale().clone();
    let settings = EpisodeInverseSettings {
        tolerance: 1e-13,
        max_iterations: 5,
        solver: LinearSolver::Dense,
        ..EpisodeInverseSettings::default()
    };
    let teachers: Vec<Vec<Vector>> = scenes
        .iter()
        .zip(&r.controls)
        .map(|(scene, u)| {
            let out = invert_episode(ctx.physics, &scene.initial, u, &scene.target, &settings)
                .expect("inversion");
            let reached = simulate(ctx.physics, &scene.initial, &out.controls, 0).expect("finite");
            assert!(
                (&reached[2] - &scene.target).amax() < 1e-9,
                "unique teacher"
            );
            out.controls
        })
        .collect();
    let m = scale.len();
    let proxy = |params: &[f32]| -> f64 {
        let mut probe = net.clone_box();
        probe.set_parameters(params).expect("parameters");
        let outputs = probe.forward(&r.inputs[0]);
        let mut total = 0.0;
        for (b, teacher) in teachers.iter().enumerate() {
            for (t, u) in teacher.iter().enumerate() {
                for i in 0..m {
                    let e = outputs[(t * m + i, b)] - u[i] / scale[i];
                    total += 0.5 * e * e;
                }
            }
        }
        total / scenes.len() as f64
    };
    let theta = net.parameters();
    let grads = update.grads.to_vec();
    let epsilon = 1e-2_f32;
    let mut worst: f64 = 0.0;
    let norm = grads
        .iter()
        .map(|g| f64::from(*g).abs())
        .fold(0.0, f64::max);
    for k in 0..theta.len() {
        let (mut plus, mut minus) = (theta.clone(), theta.clone());
        plus[k] += epsilon;
        minus[k] -= epsilon;
        let step = f64::from(plus[k]) - f64::from(minus[k]);
        let fd = (proxy(&plus) - proxy(&minus)) / step;
        worst = worst.max((fd - f64::from(grads[k])).abs() / norm);
    }
    assert!(worst < 1e-4, "largest relative deviation {worst:e}");
}

/// The fallback of a failed inversion is a change of the network's outputs like the proxy's
/// cotangent: weighting the whole loss by 10² (terminal weights ×10) leaves it the same, where
/// where the raw gradient grows a hundredfold.
#[test]
fn fallback_does_not_depend_on_the_units_of_the_loss() {
    use physinv::train::sip::fallback_cotangent;
    let fallback = |weight: f64| {
        let scenario = conditioning(1.0, [weight; 4], "Sip(inverse: Episode())");
        let trainer = Trainer::new(&scenario).expect("trainer");
        let ctx = trainer.context();
        let net = trainer.initial_network().expect("network");
        let scenes = trainer.test_scenes();
        let r = rollout(ctx.physics, ctx.policy, net.as_ref(), scenes).expect("rollout");
        fallback_cotangent(&ctx, 0.5, &scenes[0], &r.states[0], &r.controls[0]).expect("fallback")
    };
    let (one, ten) = (fallback(1.0), fallback(10.0));
    let size = one.iter().map(|x| x.amax()).fold(0.0, f64::max);
    assert!(size > 0.0);
    for (a, b) in one.iter().zip(&ten) {
        assert!((a - b).amax() < 1e-9 * size, "{a} vs {b}");
    }
}
