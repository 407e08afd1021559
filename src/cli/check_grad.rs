//! `physinv check-grad`: the simulator's JVP against central finite differences and its VJP
//! against the JVP (`⟨w, J v⟩ = ⟨Jᵀ w, v⟩`), at states and controls drawn like the
//! scenario's.

use super::{note, positive_f64, positive_usize, EditArgs, Global, LimitArgs};
use crate::scenario::Scenario;
use crate::scenes::SceneSampler;
use crate::sim::check::{check_adjoint, check_jvp, CheckReport};
use crate::sim::Vector;
use anyhow::bail;
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

/// Central-difference steps tried per sample; the smallest error is kept. Truncation error
/// grows like h², round-off like ε/h, and where they balance depends on the simulator's
/// scales, so a range of decades is tried instead of one fixed step.
pub const FD_STEPS: [f64; 5] = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7];

/// Arguments of `physinv check-grad`.
#[derive(Debug, Clone, Args)]
pub struct CheckGradArgs {
    /// Scenario file (RON) naming the simulator and how its states are drawn.
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// Number of sampled (state, control) points.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = positive_usize)]
    pub samples: usize,
    /// Seed of the random controls and directions.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Largest accepted relative error, for the JVP (against finite differences) and for the
    /// adjoint identity alike.
    #[arg(long, value_name = "T", default_value_t = 1e-6, value_parser = positive_f64)]
    pub tolerance: f64,
    /// `--set` edits of the scenario's fields.
    #[command(flatten)]
    pub edits: EditArgs,
}

/// The checks at one sampled point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCheck {
    /// Sample number (the scene index its state comes from).
    pub sample: usize,
    /// Time step of the state within the scene's episode.
    pub step: usize,
    /// JVP against central differences, at the best of [`FD_STEPS`].
    pub jvp: CheckReport,
    /// The finite-difference step that gave `jvp`.
    pub fd_step: f64,
    /// The adjoint identity, if the simulator has a VJP.
    pub adjoint: Option<CheckReport>,
}

impl PointCheck {
    /// `true` if every check at this point is within `tolerance`.
    pub fn passes(&self, tolerance: f64) -> bool {
        self.jvp.passes(tolerance) && self.adjoint.is_none_or(|a| a.passes(tolerance))
    }
}

fn uniform(rng: &mut ChaCha8Rng, len: usize, scale: f64) -> Vector {
    Vector::from_fn(len, |_, _| scale * rng.gen_range(-1.0..1.0))
}

/// Runs the checks at `samples` points: sample `k` takes scene `k`'s initial state, advances
/// it `k mod steps` steps with random controls, and checks there with a control that is the
/// scene's ground-truth control if known, else uniform in `±control_scale`. Directions and
/// cotangents are uniform in `±1`.
pub fn check_scenario(
    scenario: &Scenario,
    samples: usize,
    seed: u64,
) -> anyhow::Result<Vec<PointCheck>> {
    let physics = &scenario.physics;
    let Some(jvp) = physics.jvp() else {
        bail!(
            "simulator '{}' provides no JVP (and so no derivatives to check); \
             methods needing derivatives are unavailable for it",
            physics.name()
        );
    };
    let vjp = physics.vjp();
    let sim = physics.sim();
    let (n, m) = (sim.state_dim(), sim.control_dim());
    let steps = scenario.spec.episode.steps.max(1);
    let scale = scenario.control_scale().max();
    let sampler = SceneSampler::new(physics.clone(), scenario.spec.data.clone(), steps);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut checks = Vec::with_capacity(samples);
    for k in 0..samples {
        let scene = sampler.scene(k as u64)?;
        let step = k % steps;
        let control_at = |t: usize, rng: &mut ChaCha8Rng| match &scene.reference_controls {
            Some(c) if t < c.len() => c[t].clone(),
            _ => uniform(rng, m, scale),
        };
        let mut state = scene.initial.clone();
        for t in 0..step {
            let u = control_at(t, &mut rng);
            state = sim.step(&state, &u);
        }
        if state.iter().any(|x| !x.is_finite()) {
            bail!("sample {k}: the state became non-finite after {step} steps");
        }
        let control = control_at(step, &mut rng);
        let d_state = uniform(&mut rng, n, 1.0);
        let d_control = uniform(&mut rng, m, 1.0);
        let cotangent = uniform(&mut rng, n, 1.0);
        let mut reports = Vec::with_capacity(FD_STEPS.len());
        for h in FD_STEPS {
            reports.push((
                check_jvp(jvp, &state, &control, &d_state, &d_control, h)?,
                h,
            ));
        }
        let (report, fd_step) = reports
            .into_iter()
            .min_by(|a, b| a.0.rel_error.total_cmp(&b.0.rel_error))
            .unwrap_or((
                CheckReport {
                    abs_error: f64::NAN,
                    rel_error: f64::NAN,
                },
                f64::NAN,
            ));
        // `check_adjoint` needs one object with both capabilities; the VJP capability of a
        // `Physics` is the same simulator object, so pair them through a small adapter.
        let adjoint = vjp
            .map(|v| {
                check_adjoint(
                    &Both { jvp, vjp: v },
                    &state,
                    &control,
                    &d_state,
                    &d_control,
                    &cotangent,
                )
            })
            .transpose()?;
        checks.push(PointCheck {
            sample: k,
            step,
            jvp: report,
            fd_step,
            adjoint,
        });
    }
    Ok(checks)
}

/// A JVP and a VJP capability seen as one simulator.
struct Both<'a> {
    jvp: &'a dyn crate::sim::Jvp,
    vjp: &'a dyn crate::sim::Vjp,
}

impl crate::sim::Simulator for Both<'_> {
    fn name(&self) -> &str {
        self.jvp.name()
    }
    fn state_dim(&self) -> usize {
        self.jvp.state_dim()
    }
    fn control_dim(&self) -> usize {
        self.jvp.control_dim()
    }
    fn dt(&self) -> f64 {
        self.jvp.dt()
    }
    fn step(&self, state: &Vector, control: &Vector) -> Vector {
        self.jvp.step(state, control)
    }
}

impl crate::sim::Jvp for Both<'_> {
    fn jvp(&self, s: &Vector, u: &Vector, ds: &Vector, du: &Vector) -> Vector {
        self.jvp.jvp(s, u, ds, du)
    }
}

impl crate::sim::Vjp for Both<'_> {
    fn vjp(&self, s: &Vector, u: &Vector, w: &Vector) -> (Vector, Vector) {
        self.vjp.vjp(s, u, w)
    }
}

/// The report table.
pub fn report_table(checks: &[PointCheck], tolerance: f64) -> String {
    let mut out = format!(
        "{:>6}  {:>4}  {:>12}  {:>7}  {:>12}  result\n",
        "sample", "step", "jvp rel err", "fd h", "adjoint err"
    );
    for c in checks {
        let adjoint = c.adjoint.map_or_else(
            || "n/a (no VJP)".to_string(),
            |a| format!("{:.3e}", a.rel_error),
        );
        out.push_str(&format!(
            "{:>6}  {:>4}  {:>12.3e}  {:>7.0e}  {:>12}  {}\n",
            c.sample,
            c.step,
            c.jvp.rel_error,
            c.fd_step,
            adjoint,
            if c.passes(tolerance) { "ok" } else { "FAIL" }
        ));
    }
    out
}

/// Runs `physinv check-grad`; an error (exit code 1) if any check fails.
pub fn run(args: &CheckGradArgs, global: Global) -> anyhow::Result<()> {
    let scenario = global.load_scenario(
        &args.scenario,
        &LimitArgs {
            edits: args.edits.clone(),
            ..LimitArgs::default()
        },
    )?;
    note(
        global,
        format_args!(
            "simulator '{}' of scenario '{}': {} sample(s), tolerance {:e}",
            scenario.physics.name(),
            scenario.spec.name,
            args.samples,
            args.tolerance
        ),
    );
    let checks = check_scenario(&scenario, args.samples, args.seed)?;
    println!("{}", report_table(&checks, args.tolerance).trim_end());
    if scenario.physics.vjp().is_none() {
        note(
            global,
            format_args!(
                "note: simulator '{}' provides no VJP; only the JVP was checked",
                scenario.physics.name()
            ),
        );
    }
    let failed = checks.iter().filter(|c| !c.passes(args.tolerance)).count();
    if failed > 0 {
        bail!(
            "gradient check failed at {failed} of {} sample(s) (tolerance {:e})",
            checks.len(),
            args.tolerance
        );
    }
    note(global, format_args!("all {} sample(s) pass", checks.len()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Physics, Simulator};
    use crate::Registry;
    use std::path::Path;

    /// `s' = s + u` with only a forward step.
    struct ForwardOnly;
    impl Simulator for ForwardOnly {
        fn name(&self) -> &str {
            "forward_only"
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

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoParams {}

    #[test]
    fn simulator_without_jvp_is_reported() {
        let mut registry = Registry::new();
        registry.register("forward_only", "test", |_: NoParams| {
            Ok(Physics::new(ForwardOnly))
        });
        let source = r#"(
            name: "fo",
            simulator: (name: "forward_only"),
            data: (scenes: Sampled(initial: Zeros, target: ReachedBy(low: [-1.0], high: [1.0])), test_count: 2),
            network: Mlp(hidden: [2], activation: tanh),
            methods: [(update: Supervised, optimizer: Adam(lr: 1e-3))],
            training: (batch: 2, iterations: 1),
        )"#;
        let scenario = Scenario::parse(source, Path::new("fo.ron"), &registry).unwrap();
        let message = check_scenario(&scenario, 2, 0).unwrap_err().to_string();
        assert!(
            message.contains("'forward_only' provides no JVP"),
            "{message}"
        );
    }

    #[test]
    fn failing_points_are_marked() {
        let bad = CheckReport {
            abs_error: 1.0,
            rel_error: 0.5,
        };
        let good = CheckReport {
            abs_error: 0.0,
            rel_error: 0.0,
        };
        let check = PointCheck {
            sample: 0,
            step: 0,
            jvp: good,
            fd_step: 1e-5,
            adjoint: Some(bad),
        };
        assert!(!check.passes(1e-6));
        assert!(report_table(&[check], 1e-6).contains("FAIL"));
    }
}
