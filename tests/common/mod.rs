//! Helpers shared by the training tests: building scenarios from RON text.

#![allow(dead_code)]

use physinv::scenario::Scenario;
use physinv::sim::Physics;
use physinv::Registry;
use std::path::Path;

/// Parses an in-memory scenario with the built-in simulators.
pub fn scenario(source: &str) -> Scenario {
    Scenario::parse(source, Path::new("<test>"), &Registry::with_builtins())
        .unwrap_or_else(|e| panic!("test scenario must load: {e}"))
}

/// Builds a built-in simulator from its name and RON parameters.
pub fn physics(name: &str, params: &str) -> Physics {
    let value: ron::Value = ron::from_str(params).expect("valid RON");
    let value = match value {
        ron::Value::Unit => ron::Value::Map(ron::Map::new()),
        v => v,
    };
    Registry::with_builtins()
        .build(name, value)
        .unwrap_or_else(|e| panic!("simulator {name} must build: {e:?}"))
}

/// The rotating sine scenario of docs/method.md §3.1 with the given methods and iteration count.
pub fn sine(xi: f64, phi_deg: f64, methods: &str, iterations: usize) -> Scenario {
    scenario(&format!(
        r#"(
    name: "sine_test",
    simulator: (name: "rotating_sine", params: (xi: {xi}, phi_deg: {phi_deg})),
    episode: (steps: 1, observe: [Target]),
    data: (seed: 1, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])), test_count: 200, validation_count: 0),
    network: Mlp(hidden: [32, 64, 32], activation: relu),
    methods: [{methods}],
    training: (batch: 100, iterations: {iterations}, log_every: {iterations}, seed: 0),
)"#
    ))
}

/// The coupled-oscillator scenario of docs/method.md §3.3 (open loop, return to start).
pub fn oscillators(methods: &str, iterations: usize) -> Scenario {
    scenario(&format!(
        r#"(
    name: "oscillators_test",
    simulator: (name: "oscillators"),
    episode: (steps: 24, policy: OpenLoop),
    data: (seed: 4, scenes: Sampled(initial: Uniform(low: [0.0, 0.0, 0.0, 0.0], high: [1.0, 1.0, 1.0, 1.0]), target: Initial), train: Pool(1024), test_count: 64),
    network: Mlp(hidden: [20, 20, 20], activation: tanh),
    methods: [{methods}],
    training: (batch: 128, iterations: {iterations}, log_every: {iterations}, seed: 0),
)"#
    ))
}

/// An observer that raises a stop flag (what SIGINT/SIGTERM set) when training reaches
/// iteration `.0`: the trainer stops before the next iteration.
pub struct StopAt(pub usize, pub std::sync::Arc<std::sync::atomic::AtomicBool>);

impl physinv::train::Observer for StopAt {
    fn on_iteration(&mut self, iteration: usize, _: f64) {
        if iteration == self.0 {
            self.1.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
