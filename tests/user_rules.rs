//! Users' own update rules: registered beside the built-in ones, named in scenarios like them,
//! validated with errors that name the field, counted in the memory estimate, and trained
//! through the same trainer.

use physinv::episode::Rollout;
use physinv::memory::MemoryPart;
use physinv::net::Network;
use physinv::scenario::Scenario;
use physinv::sim::{ParamError, Scene};
use physinv::train::bptt::Bptt;
use physinv::train::builtin::HigSpec;
use physinv::train::rules::{Problem, RuleSpec, Rules};
use physinv::train::trainer::Silent;
use physinv::train::{Context, Trainer, Update, UpdateRule};
use physinv::Registry;
use std::path::Path;

/// Back-propagation through time with the gradient multiplied by `scale`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scaled {
    scale: f64,
    #[serde(default)]
    buffer_bytes: u64,
}

struct ScaledRule(f32);

impl UpdateRule for ScaledRule {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> physinv::Result<Update> {
        let mut update = Bptt::default().update(ctx, net, scenes, rollout)?;
        update.grads.scale(self.0);
        Ok(update)
    }
}

impl RuleSpec for Scaled {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        physinv::train::rules::require(problem.physics, false, true)?;
        if self.scale > 0.0 {
            Ok(())
        } else {
            Err(ParamError::new(
                "scale",
                format!("must be > 0, got {}", self.scale),
            ))
        }
    }

    fn memory(&self, problem: &Problem<'_>) -> Vec<MemoryPart> {
        vec![MemoryPart {
            what: "scaled buffers".to_string(),
            driven_by: "update.buffer_bytes × batch",
            bytes: self.buffer_bytes.saturating_mul(problem.sizes.batch),
        }]
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(ScaledRule(self.scale as f32))
    }
}

/// A rule without parameters: written as a bare name.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Plain;

impl RuleSpec for Plain {
    fn check(&self, _problem: &Problem<'_>) -> Result<(), ParamError> {
        Ok(())
    }
    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(Bptt::default())
    }
}

fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    registry.register_rule::<Scaled>("Scaled", "BPTT with a scaled gradient");
    registry.register_rule::<Plain>("Plain", "BPTT under another name");
    registry
}

fn scenario(methods: &str) -> String {
    format!(
        r#"(
    name: "rules",
    simulator: (name: "point_mass"),
    episode: (steps: 8, policy: ClosedLoop, observe: [State, Target]),
    data: (seed: 1, scenes: Sampled(initial: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]), target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])), test_count: 16, validation_count: 0),
    network: Mlp(hidden: [16], activation: tanh),
    methods: [{methods}],
    training: (batch: 16, iterations: 30, log_every: 10, seed: 0),
)"#
    )
}

fn parse(methods: &str) -> physinv::Result<Scenario> {
    Scenario::parse(&scenario(methods), Path::new("rules.ron"), &registry())
}

fn losses(scenario: &Scenario, index: usize) -> Vec<f64> {
    let trainer = Trainer::new(scenario).expect("trainer");
    let outcome = trainer.train(index, &mut Silent).expect("trains");
    outcome
        .log
        .iter()
        .map(|row| row.metrics.get("loss").expect("loss"))
        .collect()
}

#[test]
fn a_users_rule_trains_like_the_rule_it_wraps() {
    // Gradient × 2 with half the learning rate is the same SGD step, bit for bit.
    let scenario = parse(
        "(update: Bptt(), optimizer: Sgd(lr: 0.5)), \
         (update: Scaled(scale: 2.0), optimizer: Sgd(lr: 0.25)), \
         (update: Plain, optimizer: Sgd(lr: 0.5))",
    )
    .expect("valid");
    assert_eq!(scenario.method_name(1), "scaled+sgd");
    let (bptt, scaled, plain) = (
        losses(&scenario, 0),
        losses(&scenario, 1),
        losses(&scenario, 2),
    );
    assert!(
        bptt.last() < bptt.first(),
        "training makes progress: {bptt:?}"
    );
    assert_eq!(bptt, scaled);
    assert_eq!(bptt, plain);
}

#[test]
fn a_users_rule_is_validated_with_the_field_named() {
    let e = parse("(update: Scaled(scale: -1.0), optimizer: Sgd(lr: 0.1))")
        .unwrap_err()
        .to_string();
    assert!(e.contains("methods[0].update.scale"), "{e}");
    assert!(e.contains("must be > 0, got -1"), "{e}");
}

#[test]
fn unknown_rules_and_fields_are_parse_errors_with_positions() {
    let e = parse("(update: Scald(scale: 1.0), optimizer: Sgd(lr: 0.1))")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown update rule `Scald`"), "{e}");
    for name in [
        "Bptt",
        "GaussNewton",
        "Hig",
        "Plain",
        "Scaled",
        "Sip",
        "Supervised",
    ] {
        assert!(e.contains(name), "{e} lists {name}");
    }
    assert!(e.contains("rules.ron:7:"), "{e}");
    let e = parse("(update: Scaled(scal: 1.0), optimizer: Sgd(lr: 0.1))")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`scal`") && e.contains("`scale`"), "{e}");
    assert!(e.contains("rules.ron:7:"), "{e}");
}

#[test]
fn a_rule_unknown_to_the_registry_is_refused() {
    // Parsed with the built-in rules only, the user's rule does not exist.
    let e = Scenario::parse(
        &scenario("(update: Scaled(scale: 1.0), optimizer: Sgd(lr: 0.1))"),
        Path::new("rules.ron"),
        &Registry::with_builtins(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown update rule `Scaled`"), "{e}");
}

#[test]
fn a_users_rule_memory_is_counted_and_checked() {
    let scenario = parse(
        "(update: Scaled(scale: 1.0, buffer_bytes: 1000), optimizer: Sgd(lr: 0.1), batch: 4)",
    )
    .expect("valid");
    let estimate = scenario.memory_estimate();
    let part = estimate
        .parts
        .iter()
        .find(|p| p.what == "scaled buffers")
        .expect("counted");
    assert_eq!(part.bytes, 4000);
    let e =
        parse("(update: Scaled(scale: 1.0, buffer_bytes: 1000000000000), optimizer: Sgd(lr: 0.1))")
            .unwrap_err()
            .to_string();
    assert!(e.contains("scaled buffers"), "{e}");
}

#[test]
fn updates_print_with_every_parameter_resolved() {
    let rules = Rules::builtin();
    let hig = rules.parse("Hig()").expect("defaults");
    assert_eq!(hig.text(), "Hig(truncation:0.0000000001,exponent:0.5)");
    assert_eq!(hig.downcast::<HigSpec>().map(|h| h.exponent), Some(0.5));
    assert_eq!(
        rules.parse("Supervised").expect("unit").text(),
        "Supervised"
    );
    assert_eq!(
        rules.parse("GaussNewton()").expect("gn").label(),
        "gauss_newton"
    );
    assert!(registry().rules().names().contains(&"Scaled".to_string()));
}
