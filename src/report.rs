//! Figures of trained networks on test scenes, written into a run directory.
//!
//! For episodes of more than one step: a state is a small vector (`n ≤ 8`) → states and
//! forces over time for the first three test scenes (`episodes_<method>.{png,svg}`); a state
//! is a field (`n > 8`, e.g. Burgers) → space-time heatmaps of the first test scene:
//! uncontrolled evolution, controlled evolution, target and force
//! (`heatmaps_<method>.{png,svg}`). Single-step problems have no episode to draw.

use crate::episode::{rollout, simulate, Policy};
use crate::net::Network;
use crate::plot::{plot_episodes, plot_heatmaps, EpisodeScene};
use crate::scenario::Scenario;
use crate::sim::{Scene, Vector};
use crate::train::checkpoint::checkpoint_file_name;
use crate::train::TrainOutcome;
use std::path::{Path, PathBuf};

/// Largest state dimension drawn as line plots; larger states are drawn as fields.
pub const MAX_LINE_STATE_DIM: usize = 8;
/// Test scenes drawn as line plots.
const LINE_SCENES: usize = 3;

fn rows(vectors: &[Vector]) -> Vec<Vec<f64>> {
    vectors.iter().map(|v| v.as_slice().to_vec()).collect()
}

/// Draws the episode figure of `net` (trained by `method`) on `scenes` to `dir`; returns the
/// files written (none for single-step scenarios).
pub fn draw_episodes(
    scenario: &Scenario,
    method: &str,
    net: &dyn Network,
    scenes: &[Scene],
    dir: &Path,
) -> crate::Result<Vec<PathBuf>> {
    let spec = &scenario.spec;
    let physics = &scenario.physics;
    let sim = physics.sim();
    if spec.episode.steps < 2 || scenes.is_empty() {
        return Ok(Vec::new());
    }
    let policy = Policy::new(&spec.episode, sim.state_dim(), scenario.control_scale());
    let stem = checkpoint_file_name(method);
    let stem = stem.trim_end_matches(".json");
    if sim.state_dim() <= MAX_LINE_STATE_DIM {
        let scenes = &scenes[..scenes.len().min(LINE_SCENES)];
        let r = rollout(physics, &policy, net, scenes)?;
        let data: Vec<EpisodeScene> = scenes
            .iter()
            .enumerate()
            .map(|(b, s)| {
                (
                    rows(&r.states[b]),
                    rows(&r.controls[b]),
                    s.target.as_slice().to_vec(),
                )
            })
            .collect();
        let title = format!("{}: {method} on test scenes", spec.name);
        plot_episodes(
            &dir.join(format!("episodes_{stem}")),
            &title,
            sim.dt(),
            &data,
        )
    } else {
        let scene = &scenes[..1];
        let r = rollout(physics, &policy, net, scene)?;
        let zero = vec![Vector::zeros(sim.control_dim()); spec.episode.steps];
        let free = simulate(physics, &scene[0].initial, &zero, 0)?;
        let panels = vec![
            ("uncontrolled", rows(&free)),
            ("controlled", rows(&r.states[0])),
            ("target", vec![scene[0].target.as_slice().to_vec()]),
            ("force", rows(&r.controls[0])),
        ];
        let title = format!("{}: test scene 0, {method}", spec.name);
        plot_heatmaps(
            &dir.join(format!("heatmaps_{stem}")),
            &title,
            sim.dt(),
            &panels,
        )
    }
}

/// [`draw_episodes`] for every trained method of a run.
pub fn draw_run_episodes(
    scenario: &Scenario,
    outcomes: &[TrainOutcome],
    test_scenes: &[Scene],
    dir: &Path,
) -> crate::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for o in outcomes {
        files.extend(draw_episodes(
            scenario,
            &o.method,
            o.net.as_ref(),
            test_scenes,
            dir,
        )?);
    }
    Ok(files)
}
