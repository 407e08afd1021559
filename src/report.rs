//! Figures of trained networks on test scenes, written into a run directory.
//!
//! For episodes of more than one step, the figure follows the state's layout
//! ([`crate::sim::Simulator::state_layout`], [`episode_figure`]): a flat list of quantities →
//! states and forces over time for the first three test scenes, each line named by its
//! component and unit (`episodes_<method>.{png,svg}`); a field (a grid, e.g. Burgers) →
//! space-time heatmaps of the first test scene: uncontrolled evolution, controlled evolution,
//! target and force, captioned with their quantities (`heatmaps_<method>.{png,svg}`).
//! Single-step problems have no episode to draw.

use crate::episode::{rollout, simulate, Policy};
use crate::layout::{Component, Layout};
use crate::net::Network;
use crate::plot::{plot_heatmaps, plot_labelled_episodes, EpisodeLabels, EpisodeScene};
use crate::scenario::Scenario;
use crate::sim::{Scene, Vector};
use crate::train::checkpoint::checkpoint_file_name;
use crate::train::TrainOutcome;
use std::path::{Path, PathBuf};

/// How the episodes of a state are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeFigure {
    /// One line per component against time (flat states, whatever their length).
    Lines,
    /// Space-time heatmaps (fields).
    Heatmaps,
}

/// The figure for a state of layout `state`: heatmaps for a field ([`Layout::is_field`]),
/// lines otherwise.
pub fn episode_figure(state: &Layout) -> EpisodeFigure {
    if state.is_field() {
        EpisodeFigure::Heatmaps
    } else {
        EpisodeFigure::Lines
    }
}

/// A panel's caption: `what` followed by the quantity when every entry of `layout` is that
/// one quantity (a field of one channel: `controlled u [m/s]`), else by the unit they share
/// (`force [K/s]`), else `what` alone.
fn caption(what: &str, layout: &Layout) -> String {
    let first = layout.quantity(0);
    let all = |same: &dyn Fn(&Component) -> bool| {
        (0..layout.len()).all(|i| layout.quantity(i).is_some_and(same))
    };
    match first {
        Some(q) if all(&|c| c == q) => format!("{what} {}", q.label()),
        Some(q) if !q.unit.is_empty() && all(&|c| c.unit == q.unit) => {
            format!("{what} [{}]", q.unit)
        }
        _ => what.to_string(),
    }
}
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
    let (state_layout, control_layout) = (sim.state_layout(), sim.control_layout());
    if episode_figure(&state_layout) == EpisodeFigure::Lines {
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
        plot_labelled_episodes(
            &dir.join(format!("episodes_{stem}")),
            &title,
            sim.dt(),
            &data,
            &EpisodeLabels::from_layouts(&state_layout, &control_layout),
        )
    } else {
        let scene = &scenes[..1];
        let r = rollout(physics, &policy, net, scene)?;
        let zero = vec![Vector::zeros(sim.control_dim()); spec.episode.steps];
        let free = simulate(physics, &scene[0].initial, &zero, 0)?;
        let names = [
            caption("uncontrolled", &state_layout),
            caption("controlled", &state_layout),
            caption("target", &state_layout),
            caption("force", &control_layout),
        ];
        let panels = vec![
            (names[0].as_str(), rows(&free)),
            (names[1].as_str(), rows(&r.states[0])),
            (names[2].as_str(), vec![scene[0].target.as_slice().to_vec()]),
            (names[3].as_str(), rows(&r.controls[0])),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Boundary, Grid};

    #[test]
    fn figures_follow_the_layout_not_the_size() {
        // A flat state longer than the old size threshold (8) is still drawn as lines.
        assert_eq!(
            episode_figure(&Layout::generic("s", 12)),
            EpisodeFigure::Lines
        );
        let small_field = Layout::Grid(Grid::line(
            Component::new("u", "m/s"),
            4,
            0.25,
            "m",
            Boundary::Periodic,
        ));
        assert_eq!(episode_figure(&small_field), EpisodeFigure::Heatmaps);
        assert_eq!(caption("controlled", &small_field), "controlled u [m/s]");
        let actuators = Layout::flat(&[("u1", "K/s"), ("u2", "K/s")]);
        assert_eq!(caption("force", &actuators), "force [K/s]");
        assert_eq!(caption("state", &Layout::generic("s", 3)), "state");
        assert_eq!(
            caption("force", &Layout::flat(&[("τ", "N·m")])),
            "force τ [N·m]"
        );
    }
}
