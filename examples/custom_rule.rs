//! A user-defined update rule, registered beside the built-in ones without changing the
//! library: `Blend(weight, inverse)` steps along `w · g_SIP + (1 − w) · g_BPTT`, a mixture of
//! the SIP proxy gradient and the back-propagated one, and logs their cosine.
//!
//! ```text
//! cargo run --release --example custom_rule                   # examples/custom_rule.ron
//! cargo run --release --example custom_rule -- validate examples/custom_rule.ron
//! ```
//!
//! The rule is a serde struct (its parameters, read from `update: Blend(…)` in the scenario)
//! implementing `RuleSpec`: `check` validates it against the scenario, `build` returns the
//! `UpdateRule` the trainer runs. Given a `physinv` subcommand, the example is the whole
//! command line with the rule registered (`physinv::cli::main_with`).

use physinv::episode::Rollout;
use physinv::net::Network;
use physinv::run::example_main;
use physinv::scenario::{ProxyInputs, SipInverse};
use physinv::sim::{ParamError, Scene};
use physinv::train::bptt::Bptt;
use physinv::train::rules::{require, Problem, RuleSpec};
use physinv::train::sip::{default_eta, Sip};
use physinv::train::{Context, Update, UpdateRule};
use physinv::Registry;

/// `update: Blend(weight: 0.5, inverse: Episode())`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Blend {
    /// Weight `w ∈ [0, 1]` of the SIP gradient.
    weight: f64,
    /// How SIP inverts the physics (as in `Sip(inverse: …)`).
    inverse: SipInverse,
}

impl RuleSpec for Blend {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        require(problem.physics, true, true)?;
        if (0.0..=1.0).contains(&self.weight) {
            Ok(())
        } else {
            Err(ParamError::new(
                "weight",
                format!("must be in [0, 1], got {}", self.weight),
            ))
        }
    }

    fn build(&self, ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(BlendRule {
            weight: self.weight as f32,
            sip: Sip::new(
                default_eta(ctx),
                self.inverse.clone(),
                ProxyInputs::default(),
                ctx.objective,
            ),
        })
    }
}

struct BlendRule {
    weight: f32,
    sip: Sip,
}

impl UpdateRule for BlendRule {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> physinv::Result<Update> {
        let sip = self.sip.update(ctx, net, scenes, rollout)?;
        let bptt = Bptt::default().update(ctx, net, scenes, rollout)?;
        let cosine = sip.grads.cosine(&bptt.grads).unwrap_or(f64::NAN);
        let mut grads = sip.grads;
        grads.scale(self.weight);
        let mut rest = bptt.grads;
        rest.scale(1.0 - self.weight);
        grads.add_assign(&rest);
        let mut diagnostics = sip.diagnostics;
        diagnostics.push("cosine_sip_bptt", cosine);
        Ok(Update {
            grads,
            stats: sip.stats,
            diagnostics,
        })
    }
}

fn main() -> std::process::ExitCode {
    let mut registry = Registry::with_builtins();
    registry.register_rule::<Blend>(
        "Blend",
        "w · SIP gradient + (1 − w) · BPTT gradient (defined in examples/custom_rule.rs)",
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    if physinv::cli::starts_subcommand(&args) {
        physinv::cli::main_with(registry)
    } else {
        example_main("examples/custom_rule.ron", &registry)
    }
}
