//! physinv: training neural-network controllers through physics simulators with
//! scale-invariant physics (SIP) updates.
//!
//! # Documentation
//!
//! The repository's `docs/` holds what this API reference does not: `docs/method.md` (the
//! mathematics, cited in the code as `docs/method.md §x.y`), `docs/scenarios.md` (every field
//! of the scenario format), `docs/running.md` (runs, outputs and the command line),
//! `docs/results.md` (measured results with their commands) and `docs/extending.md` (your own
//! simulators, update rules and network kinds).
//!
//! # Tour
//!
//! | the method (`docs/method.md`) | physinv |
//! | --- | --- |
//! | simulator `P(s, u)`, `A = ∂P/∂s`, `B = ∂P/∂u` | [`sim::Simulator`], [`sim::Jvp`], [`sim::Vjp`] |
//! | local inverse `P⁻¹(y; x)` | [`sim::ControlInverse`] (analytic), [`inverse::solve`] (Newton, saddle-free Newton, pseudo-inverse step) |
//! | physics inversion across time (Gramian `G = Σ J_t J_tᵀ`) | [`inverse::episode::invert_episode`] |
//! | network `f(·; θ)` | [`net::Network`] (kinds in [`net::table`]: [`net::Mlp`], runtime-shaped layers, and [`net::linear::Linear`]) |
//! | SIP update (Newton step, inverse, proxy loss) | [`train::sip::Sip`] |
//! | DP / back-propagation through time | [`train::bptt::Bptt`] |
//! | objective `½‖W(s_T − s*)‖² + ½α Σ‖u_t‖²` | [`objective::Objective`] |
//! | scenario file (RON) | [`scenario::Scenario`] |
//! | user-defined simulators | [`Registry::register`]; every subcommand for them: [`cli::main_with`] |
//! | a step without hand-written derivatives | [`sim::autodiff::AutoDiff`] (exact, dual numbers), [`sim::finite_difference::FiniteDifference`] (central differences) |
//! | what a state's or control's components are (names, units, grids) | [`layout::Layout`], [`sim::Simulator::state_layout`] |
//! | training loop, checkpoints and resume | [`train::Trainer`], [`train::Checkpoint`] |
//! | figures (loss over time, sweeps, episodes, heatmaps) | [`plot`], [`report`] |
//! | running a scenario end to end | [`run::run_scenario`]; the `physinv` binary ([`cli`]) |
//! | trained networks and episodes for PyTorch / numpy | [`export`] (safetensors, `.npz`) |
//!
//! Data flow: scenario → simulator ([`Registry`]) + network → episode
//! ([`episode::rollout`]) → update rule ([`train::UpdateRule`]) → optimizer
//! ([`net::Optimizer`]) → logs and figures ([`output`], [`plot`], [`report`]).
//!
//! Numbered examples: `sine` (1, the seed's inverse problems), `control` (2, episodes),
//! `custom_simulator` (3, a user-defined simulator with hand-written derivatives and the whole
//! command line), `generic_step` (4, the shortest path from a step function to training),
//! `figures` (5, the figures of docs/results.md).
//!
//! The crates a simulator's code needs are re-exported ([`nalgebra`] for [`sim::Vector`],
//! [`rand`] and [`rand_chacha`] for [`sim::SceneRng`], [`num_dual`] for
//! [`sim::autodiff::Scalar`]), so a user crate depends on physinv alone and never pins their
//! versions by hand.

#![warn(missing_docs)]

pub mod cli;
pub mod episode;
pub mod error;
pub mod export;
pub mod files;
pub mod interrupt;
pub mod inverse;
pub mod layout;
pub mod lock;
pub mod memory;
pub mod net;
pub mod objective;
pub mod output;
pub mod plot;
pub mod plugins;
pub mod pool;
pub mod processes;
pub mod protocol;
pub mod registry;
pub mod report;
pub mod run;
pub mod scenario;
pub mod scenes;
pub mod sim;
pub mod tangent;
pub mod train;
pub mod values;

pub use error::{Error, InverseError, Result, ScenarioError};
pub use registry::Registry;

pub use nalgebra;
pub use num_dual;
pub use rand;
pub use rand_chacha;
