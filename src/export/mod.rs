//! Trained policies out of physinv: networks as safetensors, episodes as `.npz`.
//!
//! `physinv export` ([`crate::cli::export`]) writes, for each checkpoint of a run:
//!
//! - `<method>.safetensors`: the network the run reports (the best on the validation scenes
//!   if the run kept one, else the last), one `f32` tensor per parameter tensor (an MLP's
//!   `layers.<k>.weight` `(out, in)` and `layers.<k>.bias` `(out,)`, [`network`]), with
//!   metadata: the architecture (`kind`, `network`, `inputs`, `outputs` and the kind's own,
//!   an MLP's `widths`, `activation`, `output_activation`), where it came from (`scenario`, `method`,
//!   `iteration`, `selected`) and, given the scenario, how it is wired into the episode
//!   ([`policy_metadata`]: `policy`, `observe`, `state_scale`, `control_scale`, `steps`);
//! - with the scenario, `<method>_episodes.npz` ([`npz`]): the network's episodes on the test
//!   scenes, `states` `(B, T+1, n)` (`states[:, 0]` the initial states), `controls`
//!   `(B, T, m)` in physical units and `targets` `(B, n)`, all `f64`; and `layout.json`
//!   ([`episode_layouts`]): what the components are — the state's and control's
//!   [`crate::layout::Layout`] (names and units, or a grid `C × ny × nx`, so a field's
//!   `states` reshape to `(B, T+1, C, ny, nx)`) and those of the network's input and output.

pub mod network;
pub mod npz;

use crate::episode::rollout;
use crate::net::{table, Architecture, Network};
use crate::scenario::{PolicyKind, Scenario};
use crate::train::{Checkpoint, Trainer};
use network::json_list;
use npz::Array;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A network to export: its shape, parameters and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedNetwork {
    /// Architecture.
    pub architecture: Architecture,
    /// Parameters in [`Network::parameters`] order.
    pub parameters: Vec<f32>,
    /// What the network keeps besides ([`Network::statistics`]: batch norm's running
    /// averages); empty for most kinds.
    pub statistics: Vec<f32>,
    /// Provenance metadata: `scenario`, `method`, `iteration`, `selected`.
    pub metadata: BTreeMap<String, String>,
}

impl ExportedNetwork {
    /// The network `checkpoint`'s run reports: the best on the validation scenes if it kept
    /// one (`selected` = `best validation`), else the last (`selected` = `last`).
    pub fn chosen(checkpoint: &Checkpoint) -> Self {
        let (parameters, statistics, iteration, selected) = match &checkpoint.best {
            Some(b) => (&b.parameters, &b.statistics, b.iteration, "best validation"),
            None => (
                &checkpoint.parameters,
                &checkpoint.statistics,
                checkpoint.iteration,
                "last",
            ),
        };
        let metadata = BTreeMap::from([
            ("scenario".to_string(), checkpoint.scenario.clone()),
            ("method".to_string(), checkpoint.method.clone()),
            ("iteration".to_string(), iteration.to_string()),
            ("selected".to_string(), selected.to_string()),
        ]);
        ExportedNetwork {
            architecture: checkpoint.network.clone(),
            parameters: parameters.clone(),
            statistics: statistics.clone(),
            metadata,
        }
    }

    /// The network, built from its architecture by the active network table (the
    /// registry's while a command runs, else the built-in kinds; [`table::build`]).
    pub fn to_network(&self) -> crate::Result<Box<dyn Network>> {
        let mut net = table::build(&self.architecture, 0)?;
        net.set_parameters(&self.parameters)?;
        net.set_statistics(&self.statistics)?;
        Ok(net)
    }
}

/// How `scenario` wires a network into its episodes, as metadata: `policy` (`closed_loop`:
/// `u_t = control_scale ⊙ f(obs_t)` with `obs_t` the `observe` blocks of `s_t / state_scale`,
/// `s* / state_scale`, their difference and `t / T`; `open_loop`:
/// `(u_0 … u_{T−1}) = control_scale ⊙ f(s_0 / state_scale, s* / state_scale)`), `observe`,
/// `state_scale`, `control_scale` (JSON lists) and `steps`.
pub fn policy_metadata(scenario: &Scenario) -> BTreeMap<String, String> {
    let episode = &scenario.spec.episode;
    let n = scenario.physics.sim().state_dim();
    let policy = match episode.policy {
        PolicyKind::ClosedLoop => "closed_loop",
        PolicyKind::OpenLoop => "open_loop",
    };
    let state_scale = episode.state_scale.clone().unwrap_or_else(|| vec![1.0; n]);
    BTreeMap::from([
        ("policy".to_string(), policy.to_string()),
        ("observe".to_string(), json_list(&episode.observe)),
        ("state_scale".to_string(), json_list(&state_scale)),
        (
            "control_scale".to_string(),
            json_list(scenario.control_scale().as_slice()),
        ),
        ("steps".to_string(), episode.steps.to_string()),
        ("simulator".to_string(), scenario.physics.name().to_string()),
    ])
}

/// The episodes of `net` on the test scenes of `scenario`: `states` `(B, T+1, n)`,
/// `controls` `(B, T, m)`, `targets` `(B, n)`.
pub fn test_episodes(scenario: &Scenario, net: &dyn Network) -> crate::Result<Vec<Array>> {
    let trainer = Trainer::new(scenario)?;
    let ctx = trainer.context();
    let scenes = trainer.test_scenes();
    let episodes = rollout(ctx.physics, ctx.policy, net, scenes)?;
    let sim = scenario.physics.sim();
    let (n, m, steps) = (sim.state_dim(), sim.control_dim(), ctx.policy.steps());
    let flat = |rows: &[Vec<crate::sim::Vector>]| -> Vec<f64> {
        rows.iter()
            .flat_map(|episode| episode.iter().flat_map(|v| v.iter().copied()))
            .collect()
    };
    let batch = scenes.len();
    Ok(vec![
        Array {
            name: "states".into(),
            shape: vec![batch, steps + 1, n],
            values: flat(&episodes.states),
        },
        Array {
            name: "controls".into(),
            shape: vec![batch, steps, m],
            values: flat(&episodes.controls),
        },
        Array {
            name: "targets".into(),
            shape: vec![batch, n],
            values: scenes
                .iter()
                .flat_map(|s| s.target.iter().copied())
                .collect(),
        },
    ])
}

/// Writes `exported` as `<out_dir>/<stem>.safetensors` and, given `scenario` (whose network
/// shape it must have), its test episodes as `<out_dir>/<stem>_episodes.npz`. Returns the
/// files written.
pub fn export_network(
    exported: &ExportedNetwork,
    scenario: Option<&Scenario>,
    out_dir: &Path,
    stem: &str,
) -> crate::Result<Vec<PathBuf>> {
    let mut metadata = exported.metadata.clone();
    let net = match scenario {
        Some(scenario) => {
            let expected = scenario.network_architecture();
            if exported.architecture != expected {
                return Err(crate::Error::Network(format!(
                    "'{stem}' is the network {}, scenario '{}' needs {expected}",
                    exported.architecture, scenario.spec.name
                )));
            }
            metadata.extend(policy_metadata(scenario));
            let mut net = scenario.build_network(0)?;
            net.set_parameters(&exported.parameters)?;
            net.set_statistics(&exported.statistics)?;
            net
        }
        None => exported.to_network()?,
    };
    let weights = out_dir.join(format!("{stem}.safetensors"));
    network::write_safetensors(&weights, net.as_ref(), &metadata)?;
    let mut written = vec![weights];
    if let Some(scenario) = scenario {
        let episodes = out_dir.join(format!("{stem}_episodes.npz"));
        let layouts = episode_layouts(scenario);
        let files = [("layout.json", layouts.as_bytes())];
        let arrays = test_episodes(scenario, net.as_ref())?;
        npz::write_npz_with(&episodes, &arrays, &files)?;
        written.push(episodes);
    }
    Ok(written)
}

/// The layouts of an episode export, as the JSON object of `layout.json`: `state`, `control`
/// (the simulator's [`crate::layout::Layout`]s, of `states[b, t]` and `controls[b, t]`),
/// `network_input` and `network_output` ([`crate::episode::Policy::input_layout`],
/// [`crate::episode::Policy::output_layout`]). A layout is `{"flat": [{"name", "unit"}…]}`,
/// `{"grid": {"channels", "ny", "nx", "cell_size", "length_unit", "boundary"}}` (entries
/// channel-major) or `{"concat": [layout…]}`.
pub fn episode_layouts(scenario: &Scenario) -> String {
    let sim = scenario.physics.sim();
    let (state, control) = (sim.state_layout(), sim.control_layout());
    let policy = crate::episode::Policy::new(
        &scenario.spec.episode,
        sim.state_dim(),
        scenario.control_scale(),
    );
    let value = serde_json::json!({
        "network_input": policy.input_layout(&state),
        "network_output": policy.output_layout(&control),
        "state": state,
        "control": control,
    });
    serde_json::to_string_pretty(&value).expect("layouts serialise to JSON")
}
