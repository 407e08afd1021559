//! The 2D field inverse problems `heat2d` and `poisson2d` (docs/method.md §3.5, §3.6) in small
//! scenarios: they load and validate, and SIP (with the simulator's own inverse) and BPTT
//! both make progress with a small `Mlp` in 150 iterations of 16 scenes. (The paper's
//! scenarios need a U-Net; these 16 × 16 ones check the wiring, not the paper's numbers.)

mod common;

use physinv::scenario::Scenario;
use physinv::train::trainer::Silent;
use physinv::train::Trainer;

/// A one-step field scenario on `simulator` with scenes from `generator`, SIP (analytic
/// inverse) and BPTT with Adam, `iterations` fresh batches of 16.
fn field_scenario(simulator: &str, generator: &str, iterations: usize, lr: f64) -> Scenario {
    common::scenario(&format!(
        r#"(
    name: "fields_test",
    simulator: {simulator},
    episode: (steps: 1, observe: [Target]),
    data: (seed: 3, scenes: Generator("{generator}"), train: Fresh, test_count: 32, validation_count: 32),
    network: Mlp(hidden: [64], activation: relu),
    methods: [
        (name: "SIP", update: Sip(inverse: Step(Analytic)), optimizer: Adam(lr: {lr})),
        (name: "BPTT", update: Bptt(), optimizer: Adam(lr: {lr})),
    ],
    training: (batch: 16, iterations: {iterations}, log_every: {iterations}, seed: 0),
)"#
    ))
}

/// A metric of the initial network and of the chosen one.
type BeforeAfter = (f64, f64);

/// Trains every method of `scenario` and returns, per method, `(name, loss, x_mae)`.
fn trained(scenario: &Scenario) -> Vec<(String, BeforeAfter, BeforeAfter)> {
    let trainer = Trainer::new(scenario).expect("trainer");
    (0..scenario.spec.methods.len())
        .map(|i| {
            let o = trainer.train(i, &mut Silent).expect("training runs");
            assert_eq!(o.stats.inverse_failures, 0, "{}", o.method);
            let pair = |metric: &str| {
                let first = o.log[0].metrics.get(metric).expect("initial metric");
                (first, o.metrics.get(metric).expect("final metric"))
            };
            (o.method.clone(), pair("loss"), pair("x_mae"))
        })
        .collect()
}

/// Both methods at least halve the loss; SIP also cuts the x-MAE by 40 % and ends below
/// BPTT's, which lowers the loss mostly along the modes the physics keeps (the paper's point).
fn assert_progress(scenario: &Scenario) {
    assert_eq!(scenario.main_metric(), "x_mae");
    let runs = trained(scenario);
    for (method, (first, last), _) in &runs {
        assert!(
            *last < 0.5 * first,
            "{method}: loss {first:.4} → {last:.4} did not halve"
        );
    }
    let (sip, bptt) = (runs[0].2, runs[1].2);
    assert!(
        sip.1 < 0.6 * sip.0,
        "SIP: x_mae {:.2} → {:.2} did not fall by 40 %",
        sip.0,
        sip.1
    );
    assert!(
        sip.1 < bptt.1,
        "SIP's x_mae {:.2} is not below BPTT's {:.2}",
        sip.1,
        bptt.1
    );
}

/// heat2d on 16 × 16 cells with the paper's blur scaled to the grid (`ν t = 8 · (16/64)² =
/// 0.5`), 150 iterations. Measured: loss 37.2 → 5.9 (SIP), 4.7 (BPTT); x_mae 141 → 66 (SIP),
/// 137 (BPTT).
#[test]
fn heat2d_trains_with_sip_and_bptt() {
    assert_progress(&field_scenario(
        "(name: \"heat2d\", params: (cells: 16, amount: 0.5))",
        "boxes",
        150,
        1e-3,
    ));
}

/// poisson2d on 16 × 16 cells, 150 iterations. Measured: loss 3710 → 90 (SIP), 93 (BPTT);
/// x_mae 321 → 106 (SIP), 279 (BPTT).
#[test]
fn poisson2d_trains_with_sip_and_bptt() {
    assert_progress(&field_scenario(
        "(name: \"poisson2d\", params: (cells: 16))",
        "noise",
        150,
        1e-3,
    ));
}

/// Both simulators at their defaults (64 × 64, the paper's grids) validate as one-step
/// scenarios with their generators, without forming their dense Jacobians.
#[test]
fn the_paper_sized_fields_validate() {
    for (simulator, generator) in [("heat2d", "boxes"), ("poisson2d", "noise")] {
        let scenario = field_scenario(&format!("(name: \"{simulator}\")"), generator, 1, 1e-3);
        assert_eq!(scenario.physics.sim().state_dim(), 64 * 64);
    }
}

/// heat2d_control on 8 × 8 cells over 8 steps, closed loop: SIP (inversion across time) and
/// BPTT both at least halve the loss in 150 iterations (measured: 6.11 → 1.11 SIP, 0.99
/// BPTT).
#[test]
fn heat2d_control_trains_with_sip_and_bptt() {
    let scenario = common::scenario(
        r#"(
    name: "heat2d_control_test",
    simulator: (name: "heat2d_control", params: (cells: 8)),
    episode: (steps: 8, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 5, scenes: Generator("boxes"), train: Fresh, test_count: 16, validation_count: 16),
    network: Mlp(hidden: [64], activation: tanh),
    methods: [
        (name: "SIP", update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-3)),
        (name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-3)),
    ],
    training: (batch: 16, iterations: 150, log_every: 150, seed: 0),
)"#,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    for i in 0..2 {
        let o = trainer.train(i, &mut Silent).expect("training runs");
        let first = o.log[0].metrics.get("loss").expect("initial loss");
        let last = o.metrics.get("loss").expect("final loss");
        assert!(
            last < 0.5 * first,
            "{}: loss {first:.4} → {last:.4}",
            o.method
        );
    }
}
