//! The episode block of a scenario as the runtime reads it: episode length, closed or open
//! loop, the network's input blocks and the state and control scales. The scenario schema
//! re-exports these types; [`super::Policy::new`] builds the wiring from them.

use serde::{Deserialize, Serialize};

/// Whether the network acts at every step or plans all controls at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PolicyKind {
    /// `u_t = f(obs(s_t, s*, t/T))` at every step.
    #[default]
    ClosedLoop,
    /// `(u_0 … u_{T−1}) = f(s_0, s*)`: one network evaluation per episode.
    OpenLoop,
}

/// One block of the closed-loop network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// Current state `s_t / state_scale`.
    State,
    /// Target `s* / state_scale`.
    Target,
    /// Remaining error `(s* − s_t) / state_scale`.
    Error,
    /// Episode progress `t / T`.
    Time,
}

/// Episode length and the network's view of the system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpisodeSpec {
    /// Number of time steps `T` (1 for single-prediction inverse problems).
    #[serde(default = "one")]
    pub steps: usize,
    /// Closed or open loop.
    #[serde(default)]
    pub policy: PolicyKind,
    /// Closed-loop input blocks, in order (open loop always sees `[s_0, s*]`).
    #[serde(default = "default_observe")]
    pub observe: Vec<Observation>,
    /// Per-component divisor applied to states and targets before the network sees them
    /// (length `n`); default all ones.
    #[serde(default)]
    pub state_scale: Option<Vec<f64>>,
    /// The network output is multiplied by this to give the control in physical units: one
    /// number for every component (`5.0`) or one per component (`[1.0, 1024.0]`). Default: the
    /// simulator's typical control magnitudes ([`crate::sim::Simulator::control_scale`]) if it
    /// has them, else 1.
    #[serde(default)]
    pub control_scale: Option<Scale>,
}

/// A scale factor: the same for every component, or one per component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scale {
    /// The same factor for every component.
    Uniform(f64),
    /// One factor per component.
    PerComponent(Vec<f64>),
}

impl Default for EpisodeSpec {
    fn default() -> Self {
        EpisodeSpec {
            steps: 1,
            policy: PolicyKind::ClosedLoop,
            observe: default_observe(),
            state_scale: None,
            control_scale: None,
        }
    }
}

fn one() -> usize {
    1
}

fn default_observe() -> Vec<Observation> {
    vec![Observation::State, Observation::Target, Observation::Time]
}

/// Network input size for `episode` on a state of dimension `n`, if it fits in `usize`.
pub fn network_inputs(episode: &EpisodeSpec, n: usize) -> Option<usize> {
    match episode.policy {
        PolicyKind::OpenLoop => n.checked_mul(2),
        PolicyKind::ClosedLoop => episode.observe.iter().try_fold(0usize, |sum, o| {
            sum.checked_add(match o {
                Observation::Time => 1,
                _ => n,
            })
        }),
    }
}

/// Network output size for `episode` with `m` control components, if it fits in `usize`.
pub fn network_outputs(episode: &EpisodeSpec, m: usize) -> Option<usize> {
    match episode.policy {
        PolicyKind::OpenLoop => m.checked_mul(episode.steps),
        PolicyKind::ClosedLoop => Some(m),
    }
}
