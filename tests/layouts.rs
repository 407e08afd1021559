//! Layouts of states, controls and network inputs: a simulator whose declared layout does not
//! fit its dimension is refused by `Physics::check_dimensions` (which scenario validation
//! runs), naming the simulator and which layout; a policy describes its input and output in
//! the order it fills them, as named flat blocks for a flat state and as channels of one grid
//! (plus a flat time) for a field.

use physinv::episode::Policy;
use physinv::layout::{Boundary, Layout, LayoutError};
use physinv::scenario::Scenario;
use physinv::sim::{Physics, Simulator, Vector};
use physinv::Error;

/// `s' = s + u` in two dimensions, declaring a state layout of `state_entries` entries.
struct Misdescribed {
    state_entries: usize,
}

impl Simulator for Misdescribed {
    fn name(&self) -> &str {
        "misdescribed"
    }
    fn state_dim(&self) -> usize {
        2
    }
    fn control_dim(&self) -> usize {
        2
    }
    fn state_layout(&self) -> Layout {
        Layout::generic("x", self.state_entries)
    }
    fn step(&self, s: &Vector, u: &Vector) -> Vector {
        s + u
    }
}

#[test]
fn a_layout_of_the_wrong_length_is_refused_naming_the_simulator_and_layout() {
    let physics = Physics::new(Misdescribed { state_entries: 3 });
    let err = physics.check_dimensions().unwrap_err();
    match &err {
        Error::Layout {
            simulator,
            which,
            source,
        } => {
            assert_eq!(simulator, "misdescribed");
            assert_eq!(*which, "state");
            assert_eq!(
                *source,
                LayoutError::Length {
                    described: 3,
                    dimension: 2
                }
            );
        }
        other => panic!("expected a layout error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "simulator 'misdescribed': state layout: the layout describes 3 entries, but the dimension is 2"
    );
    // The default control layout fits.
    Physics::new(Misdescribed { state_entries: 2 })
        .check_dimensions()
        .unwrap();
}

fn policy(path: &str) -> (Scenario, Policy) {
    let scenario = Scenario::load(path).unwrap();
    let sim = scenario.physics.sim();
    let policy = Policy::new(
        &scenario.spec.episode,
        sim.state_dim(),
        scenario.control_scale(),
    );
    (scenario, policy)
}

#[test]
fn closed_loop_input_of_a_flat_state_names_each_block() {
    // observe: [State, Error, Time]
    let (scenario, policy) = policy("scenarios/pendulum.ron");
    let sim = scenario.physics.sim();
    let input = policy.input_layout(&sim.state_layout());
    assert_eq!(input.len(), policy.input_dim());
    assert_eq!(
        input.labels(),
        [
            "θ [rad]",
            "ω [rad/s]",
            "θ*−θ [rad]",
            "ω*−ω [rad/s]",
            "t/T [1]"
        ]
    );
    let output = policy.output_layout(&sim.control_layout());
    assert_eq!(output.labels(), ["τ [N·m]"]);
}

#[test]
fn closed_loop_input_of_a_grid_state_is_one_grid_of_channels_and_the_time() {
    // observe: [State, Target, Time] on 32 periodic cells
    let (scenario, policy) = policy("scenarios/burgers.ron");
    let sim = scenario.physics.sim();
    let input = policy.input_layout(&sim.state_layout());
    assert_eq!(input.len(), policy.input_dim());
    let parts = input.parts();
    assert_eq!(parts.len(), 2, "{input}");
    let Layout::Grid(grid) = &parts[0] else {
        panic!("a grid first: {input}")
    };
    let channels: Vec<&str> = grid.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(channels, ["u", "u*"]);
    assert_eq!((grid.ny, grid.nx), (1, 32));
    assert_eq!(grid.boundary, Boundary::Periodic);
    assert_eq!(parts[1], Layout::flat(&[("t/T", "1")]));

    // The numeric order: entry `c·32 + x` of the observation is channel c at cell x.
    let state = Vector::from_fn(32, |i, _| i as f64);
    let target = Vector::from_fn(32, |i, _| 100.0 + i as f64);
    let obs = policy.observation(&state, &target, 3);
    assert_eq!(input.label(5), "u[5] [m/s]");
    assert_eq!(obs[5].to_bits(), state[5].to_bits());
    assert_eq!(input.label(32 + 7), "u*[7] [m/s]");
    assert_eq!(obs[32 + 7].to_bits(), target[7].to_bits());
    assert_eq!(input.label(64), "t/T [1]");
    assert!(sim.control_layout().is_field());
}

#[test]
fn open_loop_output_is_the_steps_controls_in_order() {
    let (scenario, policy) = policy("scenarios/oscillators.ron");
    let sim = scenario.physics.sim();
    let input = policy.input_layout(&sim.state_layout());
    assert_eq!(input.len(), 2 * sim.state_dim());
    assert_eq!(input.label(0), "q1₀ [1]");
    assert_eq!(input.label(4), "q1* [1]");
    let output = policy.output_layout(&sim.control_layout());
    assert_eq!(output.len(), policy.steps() * sim.control_dim());
    assert_eq!(output.label(3), "u@t3 [1]");
}
