//! `physinv validate`: check a scenario file and print the resolved configuration.

use super::{Global, LimitArgs};
use crate::scenario::limits::Bytes;
use crate::scenario::{PolicyKind, Scenario, SceneSource, TrainSet};
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `physinv validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Scenario file (RON).
    #[arg(value_name = "SCENARIO.ron")]
    pub scenario: PathBuf,
    /// Field edits and overrides, applied as `train` would apply them.
    #[command(flatten)]
    pub limits: LimitArgs,
}

fn ron_text<T: serde::Serialize>(value: &T) -> String {
    ron::to_string(value).unwrap_or_else(|e| format!("<{e}>"))
}

/// A list of numbers as `[a, b, …]`, or `v (all n)` when every entry is `v`, or its first
/// eight entries and the count when it is longer (a field's control has thousands).
fn values_text(values: &[f64]) -> String {
    const SHOWN: usize = 8;
    match values {
        [first, rest @ ..] if rest.len() >= SHOWN && rest.iter().all(|v| v == first) => {
            format!("{first:?} (all {})", values.len())
        }
        _ if values.len() > SHOWN => format!("{:?}… ({} entries)", &values[..SHOWN], values.len()),
        _ => format!("{values:?}"),
    }
}

/// `(a: 1.0, b: 2.0)` for a parameter map as read from the file.
fn params_text(params: &ron::Value) -> String {
    match params {
        ron::Value::Map(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| match k {
                    ron::Value::String(name) => format!("{name}: {}", ron_text(v)),
                    other => format!("{}: {}", ron_text(other), ron_text(v)),
                })
                .collect();
            format!("({})", fields.join(", "))
        }
        ron::Value::Unit => "(defaults)".to_string(),
        other => ron_text(other),
    }
}

/// The resolved configuration of `scenario`, as printed by `validate`.
pub fn describe(scenario: &Scenario) -> String {
    let spec = &scenario.spec;
    let physics = &scenario.physics;
    let sim = physics.sim();
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(
        "scenario     {} ({})",
        spec.name,
        scenario.path.display()
    ));
    if !spec.description.is_empty() {
        line(format!("description  {}", spec.description));
    }
    line(format!(
        "simulator    {}  params {}",
        physics.name(),
        params_text(&spec.simulator.params)
    ));
    line(format!(
        "             state dim n = {}, control dim m = {}, dt = {}",
        sim.state_dim(),
        sim.control_dim(),
        sim.dt()
    ));
    line(format!("             state   {}", sim.state_layout()));
    line(format!("             control {}", sim.control_layout()));
    let mut capabilities = vec!["step"];
    for (has, name) in [
        (physics.jvp().is_some(), "jvp"),
        (physics.vjp().is_some(), "vjp"),
        (physics.inverse().is_some(), "control inverse"),
        (physics.hessian().is_some(), "control hessian"),
        (physics.metrics().is_some(), "metrics"),
        (physics.scenes().is_some(), "scene generators"),
    ] {
        if has {
            capabilities.push(name);
        }
    }
    line(format!("capabilities {}", capabilities.join(", ")));
    let ep = &spec.episode;
    let policy = match ep.policy {
        PolicyKind::ClosedLoop => format!("closed loop, observes {}", ron_text(&ep.observe)),
        PolicyKind::OpenLoop => "open loop (sees s_0 and s*)".to_string(),
    };
    line(format!(
        "episode      {} step(s), {policy}, control scale {}",
        ep.steps,
        values_text(scenario.control_scale().as_slice())
    ));
    let net = scenario.network_architecture();
    let size = spec.network.size(&scenario.network_io());
    line(format!(
        "network      {}, {} inputs → {} outputs ({} parameters)",
        net.text(),
        net.inputs,
        net.outputs,
        size.parameters
    ));
    let scenes = match &spec.data.scenes {
        SceneSource::Generator(name) => format!("generator '{name}'"),
        other => ron_text(other),
    };
    let train = match spec.data.train {
        TrainSet::Fresh => "fresh scenes every iteration".to_string(),
        TrainSet::Pool(n) => format!("pool of {n} scenes"),
    };
    line(format!("data         {scenes}"));
    line(format!(
        "             seed {}, {} test, {} validation, training: {train}",
        spec.data.seed, spec.data.test_count, spec.data.validation_count
    ));
    line(format!("objective    {}", ron_text(&spec.objective)));
    line("methods".to_string());
    for (i, method) in spec.methods.iter().enumerate() {
        let mut text = format!(
            "  {:<12} update {}  optimizer {}",
            scenario.method_name(i),
            method.update.text(),
            ron_text(&method.optimizer)
        );
        if let Some(b) = method.batch {
            let _ = write!(text, "  batch {b}");
        }
        if let Some(c) = method.clip_grad_norm {
            let _ = write!(text, "  clip_grad_norm {c}");
        }
        line(text);
    }
    let t = &spec.training;
    line(format!(
        "training     batch {}, {}, log every {}, seed {}",
        t.batch,
        super::train::limits_text(scenario),
        t.log_every,
        t.seed
    ));
    let memory = scenario.memory_estimate();
    let largest: Vec<String> = memory
        .largest(2)
        .into_iter()
        .map(|p| format!("{} {}", p.what, Bytes(p.bytes)))
        .collect();
    line(format!(
        "memory       about {} estimated ({})",
        Bytes(memory.total()),
        largest.join(", ")
    ));
    out
}

/// Runs `physinv validate`.
pub fn run(args: &ValidateArgs, global: Global) -> anyhow::Result<()> {
    let scenario = global.load_scenario(&args.scenario, &args.limits)?;
    if global.quiet {
        println!("ok");
    } else {
        print!("{}", describe(&scenario));
        println!("ok: {} is valid", args.scenario.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::values_text;

    #[test]
    fn long_lists_are_summarised() {
        assert_eq!(values_text(&[1.0, 2.0]), "[1.0, 2.0]");
        assert_eq!(values_text(&[0.5; 4096]), "0.5 (all 4096)");
        let ramp: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(
            values_text(&ramp),
            "[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]… (10 entries)"
        );
        assert_eq!(values_text(&[3.0; 9]), "3.0 (all 9)");
        assert_eq!(
            values_text(&[3.0; 8]),
            "[3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]"
        );
    }
}
