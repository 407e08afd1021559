//! Network kinds through the [`Network`] interface: the second built-in kind, `Linear`, has
//! exact derivatives (finite differences), trains with SIP, BPTT and HIG, checkpoints and
//! resumes to the same parameters, exports and shows in `validate`; a user's kind defined here
//! works through `Registry::register_network`; the earlier `network: (…)` form is an error
//! naming the new syntax.

mod common;
use nalgebra::DMatrix;
use physinv::net::linear::Linear;
use physinv::net::{Architecture, Network, NetworkIo, NetworkKind, NetworkSize, Networks};
use physinv::scenario::Scenario;
use physinv::sim::ParamError;
use physinv::train::trainer::Silent;
use physinv::train::{Checkpoint, TrainControl, Trainer};
use physinv::Registry;
use std::path::Path;

/// Finite-difference step for the affine map: it is linear in `x` and in `θ`, so central
/// differences are exact up to the rounding of `f(x ± h v)`; `1e-3` keeps that rounding
/// (`~1e-16 / 1e-3`) far below the tolerance.
const STEP: f64 = 1e-3;
/// Tolerance of the finite-difference comparisons (relative to the size of the value).
const FD_TOLERANCE: f64 = 1e-8;

fn linear(inputs: usize, outputs: usize) -> Box<dyn Network> {
    Networks::builtin()
        .parse("Linear()")
        .expect("parses")
        .build(&NetworkIo::flat(inputs, outputs), 3)
        .expect("builds")
}

fn batch(rows: usize, cols: usize, phase: f64) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |i, b| ((i * 5 + b * 3) as f64 + phase).sin())
}

/// `Σ ⟨c, f(x)⟩`.
fn weighted(net: &dyn Network, x: &DMatrix<f64>, c: &DMatrix<f64>) -> f64 {
    net.forward(x).component_mul(c).sum()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= FD_TOLERANCE * (1.0 + b.abs()),
        "{what}: {a} vs {b}"
    );
}

/// The parameter gradient, the input cotangents, the backward sequence and the Jacobian rows
/// of `Linear` against central differences of `Σ ⟨c, f(x; θ)⟩`.
#[test]
fn linear_derivatives_match_finite_differences() {
    let (inputs, outputs, samples) = (3, 2, 4);
    let mut net = linear(inputs, outputs);
    assert_eq!(net.num_parameters(), inputs * outputs + outputs);
    let x = batch(inputs, samples, 0.0);
    let c = batch(outputs, samples, 1.0);
    let (grads, dx) = net.backward_with_input(&x, &c);
    assert_eq!(grads, net.backward(&x, &c));
    // Parameters: perturb each in f32 by a representable step, evaluate in f64.
    let theta = net.parameters();
    let g = grads.to_vec();
    for k in 0..theta.len() {
        let h = STEP as f32;
        let mut plus = theta.clone();
        plus[k] += h;
        net.set_parameters(&plus).unwrap();
        let up = weighted(net.as_ref(), &x, &c);
        let mut minus = theta.clone();
        minus[k] -= h;
        net.set_parameters(&minus).unwrap();
        let down = weighted(net.as_ref(), &x, &c);
        let step = f64::from(plus[k]) - f64::from(minus[k]);
        // The gradient is rounded to f32.
        let fd = (up - down) / step;
        assert!(
            (f64::from(g[k]) - fd).abs() <= 1e-6 * (1.0 + fd.abs()),
            "∂θ{k}: {} vs {fd}",
            g[k]
        );
    }
    net.set_parameters(&theta).unwrap();
    // Inputs.
    for i in 0..inputs {
        for b in 0..samples {
            let mut plus = x.clone();
            plus[(i, b)] += STEP;
            let mut minus = x.clone();
            minus[(i, b)] -= STEP;
            let fd = (weighted(net.as_ref(), &plus, &c) - weighted(net.as_ref(), &minus, &c))
                / (2.0 * STEP);
            close(dx[(i, b)], fd, &format!("∂x[{i},{b}]"));
        }
    }
    // A sequence of batches: input cotangents as single passes, gradients summed.
    let x2 = batch(inputs, 2, 2.0);
    let c2 = batch(outputs, 2, 3.0);
    let mut sequence = net.backward_sequence();
    assert_eq!(sequence.input_cotangent(&x, &c), dx);
    sequence.input_cotangent(&x2, &c2);
    let mut sum = grads.clone();
    sum.add_assign(&net.backward(&x2, &c2));
    assert_eq!(sequence.finish(), sum);
    // Jacobian rows: one per cotangent column, owned by sample `owner[j]`, equal to the
    // single-sample gradient in f64; their input cotangents equal the single-sample ones.
    let owner = [2, 0, 2];
    let cots = batch(outputs, owner.len(), 4.0);
    let p = net.num_parameters();
    let mut rows = vec![0.0; p * owner.len()];
    let rows_of = net.linearise(&x);
    assert_eq!(rows_of.num_parameters(), p);
    let dxs = rows_of.add_rows(&cots, &owner, &mut rows);
    for (j, &o) in owner.iter().enumerate() {
        let xj = x.columns(o, 1).into_owned();
        let cj = cots.columns(j, 1).into_owned();
        let (gj, dxj) = net.backward_with_input(&xj, &cj);
        for (k, gk) in gj.to_vec().iter().enumerate() {
            assert!(
                (rows[j * p + k] - f64::from(*gk)).abs() <= 1e-6 * (1.0 + rows[j * p + k].abs()),
                "row {j}, parameter {k}"
            );
        }
        for i in 0..inputs {
            close(
                dxs[(i, j)],
                dxj[(i, 0)],
                &format!("row {j} input cotangent {i}"),
            );
        }
    }
}

/// A closed-loop point-mass scenario with the given network and methods.
fn point_mass(network: &str, methods: &str, iterations: usize) -> String {
    format!(
        r#"(
    name: "pm_linear",
    simulator: (name: "point_mass"),
    episode: (steps: 12, policy: ClosedLoop, observe: [Error]),
    data: (seed: 5, scenes: Sampled(
        initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
        target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])),
        test_count: 16, validation_count: 16),
    network: {network},
    methods: [{methods}],
    training: (batch: 8, iterations: {iterations}, log_every: {iterations}, seed: 0),
)"#
    )
}

const METHODS: &str = r#"(name: "SIP", update: Sip(inverse: Episode()), optimizer: Adam(lr: 3e-2)),
        (name: "BPTT", update: Bptt(), optimizer: Adam(lr: 3e-2)),
        (name: "HIG", update: Hig(), optimizer: Adam(lr: 3e-2))"#;

/// The affine policy learns the point mass with SIP, BPTT and HIG: each cuts the validation
/// loss of the initial policy at least in half in 100 iterations.
#[test]
fn linear_trains_with_sip_bptt_and_hig() {
    let scenario = common::scenario(&point_mass("Linear()", METHODS, 100));
    assert_eq!(scenario.spec.network.name(), "Linear");
    let trainer = Trainer::new(&scenario).expect("trainer");
    for i in 0..3 {
        let outcome = trainer.train(i, &mut Silent).expect("trains");
        let first = outcome.log[0].metrics.get("loss").expect("initial loss");
        let last = outcome.log.last().unwrap().metrics.get("loss").unwrap();
        assert!(
            last < 0.5 * first,
            "{}: loss {first:.3e} → {last:.3e}",
            outcome.method
        );
        assert_eq!(outcome.net.architecture().kind, "Linear");
    }
}

/// Trained 6 iterations straight, or 3, checkpointed, and resumed to 6: the same parameters
/// (HIG, whose update reads the Jacobian rows). A checkpoint of another network is refused,
/// naming both networks.
#[test]
fn linear_checkpoints_and_resumes_to_the_same_parameters() {
    let method = r#"(name: "HIG", update: Hig(), optimizer: Adam(lr: 1e-2))"#;
    let full = common::scenario(&point_mass("Linear()", method, 6));
    let half = common::scenario(&point_mass("Linear()", method, 3));
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
    let checkpoint = Checkpoint::load(&path).expect("checkpoint");
    assert_eq!(checkpoint.network, full.network_architecture());
    let resume = TrainControl {
        resume: Some(checkpoint.clone()),
        ..TrainControl::default()
    };
    let resumed = Trainer::new(&full)
        .unwrap()
        .train_with(0, &mut Silent, &resume)
        .unwrap();
    assert_eq!(resumed.iterations, 6);
    assert_eq!(straight.net.parameters(), resumed.net.parameters());
    assert_eq!(straight.metrics, resumed.metrics);

    let other = common::scenario(&point_mass("Linear(scale: 0.5)", method, 6));
    let error = Trainer::new(&other)
        .unwrap()
        .train_with(
            0,
            &mut Silent,
            &TrainControl {
                resume: Some(checkpoint),
                ..TrainControl::default()
            },
        )
        .expect_err("another network is refused")
        .to_string();
    assert!(
        error.contains("Linear(scale:1.0)") && error.contains("Linear(scale:0.5)"),
        "{error}"
    );
}

/// Export writes the affine policy's `weight` and `bias` with the architecture in the
/// metadata; `validate` shows the kind.
#[test]
fn linear_exports_and_shows_in_validate() {
    let method = r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))"#;
    let scenario = common::scenario(&point_mass("Linear()", method, 2));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("BPTT.json");
    let control = TrainControl {
        checkpoint_path: Some(path.clone()),
        ..TrainControl::default()
    };
    let outcome = Trainer::new(&scenario)
        .unwrap()
        .train_with(0, &mut Silent, &control)
        .unwrap();
    let checkpoint = Checkpoint::load(&path).expect("checkpoint");
    let exported = physinv::export::ExportedNetwork::chosen(&checkpoint);
    let written = physinv::export::export_network(&exported, Some(&scenario), dir.path(), "BPTT")
        .expect("exports");
    let bytes = std::fs::read(&written[0]).expect("safetensors");
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("reads");
    assert_eq!(file.tensor("weight").unwrap().shape(), [2, 4]);
    assert_eq!(file.tensor("bias").unwrap().shape(), [2]);
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).expect("header");
    let metadata = header.metadata().as_ref().expect("metadata");
    assert_eq!(metadata["kind"], "Linear");
    assert_eq!(metadata["network"], "Linear(scale:1.0)");
    let weight: Vec<f32> = file
        .tensor("weight")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(weight, outcome.net.parameters()[..8]);
    // And without the scenario, rebuilt from the checkpoint's architecture.
    let net = exported.to_network().expect("rebuilds");
    assert_eq!(net.architecture(), checkpoint.network);
    let text = physinv::cli::validate::describe(&scenario);
    assert!(
        text.contains("Linear(scale:1.0), 4 inputs → 2 outputs (10 parameters)"),
        "{text}"
    );
}

/// A user's network kind: the affine policy started at zero, defined here.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ZeroAffine {
    /// Must be true (a parameter to check).
    zero: bool,
}

impl NetworkKind for ZeroAffine {
    fn check(&self, _io: &NetworkIo) -> Result<(), ParamError> {
        if self.zero {
            Ok(())
        } else {
            Err(ParamError::new("zero", "must be true"))
        }
    }

    fn size(&self, io: &NetworkIo) -> NetworkSize {
        NetworkSize::affine(io.input.len as u64, io.output.len as u64)
    }

    fn build(&self, io: &NetworkIo, _seed: u64) -> physinv::Result<Box<dyn Network>> {
        let arch = Architecture::of("ZeroAffine", self, io);
        Ok(Box::new(Linear::zeros(arch, io.input.len, io.output.len)))
    }
}

/// A kind registered by a user is named by a scenario, checked with its field path, trains
/// with BPTT from its zero start, and is unknown to a registry without it.
#[test]
fn a_user_registered_network_kind_trains() {
    let mut registry = Registry::with_builtins();
    registry.register_network::<ZeroAffine>("ZeroAffine", "affine policy started at zero");
    let method = r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))"#;
    let source = point_mass("ZeroAffine(zero: true)", method, 20);
    let scenario = Scenario::parse(&source, Path::new("user.ron"), &registry).expect("parses");
    let trainer = Trainer::new(&scenario).expect("trainer");
    assert!(trainer
        .initial_network()
        .unwrap()
        .parameters()
        .iter()
        .all(|p| *p == 0.0));
    let outcome = trainer.train(0, &mut Silent).expect("trains");
    let first = outcome.log[0].metrics.get("loss").unwrap();
    let last = outcome.log.last().unwrap().metrics.get("loss").unwrap();
    assert!(last < first, "loss {first:.3e} → {last:.3e}");

    let bad = point_mass("ZeroAffine(zero: false)", method, 20);
    let error = Scenario::parse(&bad, Path::new("user.ron"), &registry)
        .expect_err("checked")
        .to_string();
    assert!(
        error.contains("network.zero") && error.contains("must be true"),
        "{error}"
    );
    let error = Scenario::parse(&source, Path::new("user.ron"), &Registry::with_builtins())
        .expect_err("unknown without the registration")
        .to_string();
    assert!(
        error.contains("unknown network kind `ZeroAffine`") && error.contains("Linear, Mlp"),
        "{error}"
    );
}

/// The form without a kind name, `network: (hidden: …)`, is an error that shows the new one.
#[test]
fn the_unnamed_network_form_is_an_error_naming_the_new_syntax() {
    let method = r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))"#;
    let source = point_mass("(hidden: [8], activation: tanh)", method, 2);
    let error = Scenario::parse(&source, Path::new("old.ron"), &Registry::with_builtins())
        .expect_err("the earlier form")
        .to_string();
    assert!(
        error.contains("old.ron:9:")
            && error.contains("network: Mlp(hidden: [64, 64], activation: tanh)"),
        "{error}"
    );
    // Capitalised activations read as the lowercase ones.
    let source = point_mass(
        "Mlp(hidden: [8], activation: Tanh, output_activation: Identity)",
        method,
        2,
    );
    let scenario = common::scenario(&source);
    assert_eq!(
        scenario.network_architecture().text(),
        "Mlp(hidden:[8],activation:tanh,output_activation:identity)"
    );
}
