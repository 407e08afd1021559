//! Figures of trained networks on test scenes, written into a run directory.
//!
//! For episodes of more than one step, the figure follows the state's layout
//! ([`crate::sim::Simulator::state_layout`], [`episode_figure`]): a flat list of quantities →
//! states and forces over time for the first three test scenes, each line named by its
//! component and unit (`episodes_<method>.{png,svg}`); a 1D field (e.g. Burgers) → space-time
//! heatmaps of the first test scene: uncontrolled evolution, controlled evolution, target and
//! force, captioned with their quantities (`heatmaps_<method>.{png,svg}`); a 2D field →
//! for each of the first three test scenes, frames of the state at five times beside the
//! target, the force under them (`frames_<method>_scene<k>.png`), and the whole episode
//! animated (`episode_<method>_scene<k>.gif`).
//!
//! Single-step problems whose prediction is a 2D field and whose scenes carry the ground truth
//! (heat2d, poisson2d) get example reconstructions like the paper's figures: for the first three
//! test scenes the input `y*`, the prediction (as the metrics see it,
//! [`crate::sim::SimMetrics::prediction`]), the truth `x*` and the error
//! (`reconstructions_<method>.png`). Networks are drawn in evaluation mode
//! ([`Network::for_evaluation`]: batch norm with its running averages), as they are evaluated.

use crate::episode::{rollout, simulate, Policy};
use crate::layout::{Component, Layout};
use crate::net::Network;
use crate::plot::{
    animate_frames, plot_frames, plot_heatmaps, plot_labelled_episodes, EpisodeLabels,
    EpisodeScene, Frame, FrameLayout,
};
use crate::scenario::Scenario;
use crate::sim::field2d::ground_truth;
use crate::sim::{Scene, Vector};
use crate::train::checkpoint::checkpoint_file_name;
use crate::train::TrainOutcome;
use std::path::{Path, PathBuf};

/// How the episodes of a state are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpisodeFigure {
    /// One line per component against time (flat states, whatever their length).
    Lines,
    /// Space-time heatmaps (1D fields).
    Heatmaps,
    /// Frames at a few times and an animation (2D fields).
    Frames,
}

/// The figure for a state of layout `state`: frames for a 2D field, heatmaps for a 1D field
/// ([`Layout::is_field`]), lines otherwise.
pub fn episode_figure(state: &Layout) -> EpisodeFigure {
    match state {
        Layout::Grid(grid) if grid.ny > 1 => EpisodeFigure::Frames,
        layout if layout.is_field() => EpisodeFigure::Heatmaps,
        _ => EpisodeFigure::Lines,
    }
}

/// The shape `(ny, nx)` of a 2D field layout.
fn plane(layout: &Layout) -> Option<(usize, usize)> {
    match layout {
        Layout::Grid(grid) if grid.ny > 1 => Some((grid.ny, grid.nx)),
        _ => None,
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
/// Test scenes drawn as line plots, as frames and animations, or as reconstructions.
const LINE_SCENES: usize = 3;
/// Times at which a 2D episode's frames are drawn.
const FRAME_TIMES: usize = 5;
/// Time per picture of an animation \[ms\].
const FRAME_DELAY_MS: u32 = 250;

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
    if scenes.is_empty() {
        return Ok(Vec::new());
    }
    let evaluation = net.for_evaluation();
    let net = evaluation.as_deref().unwrap_or(net);
    let policy = Policy::new(&spec.episode, sim.state_dim(), scenario.control_scale());
    let stem = checkpoint_file_name(method);
    let stem = stem.trim_end_matches(".json");
    let (state_layout, control_layout) = (sim.state_layout(), sim.control_layout());
    if spec.episode.steps < 2 {
        return draw_reconstructions(
            scenario,
            method,
            net,
            scenes,
            &dir.join(format!("reconstructions_{stem}")),
        );
    }
    let figure = episode_figure(&state_layout);
    if figure == EpisodeFigure::Frames {
        return draw_field_episodes(scenario, method, net, scenes, dir, stem);
    }
    if figure == EpisodeFigure::Lines {
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

/// Values of the first channel of a field vector of `cells` cells per channel.
fn first_channel(v: &Vector, cells: usize) -> Vec<f64> {
    v.as_slice()[..cells.min(v.len())].to_vec()
}

/// `count` step indices spread evenly over `0..=steps`, first and last included, without
/// repeats.
fn frame_times(steps: usize, count: usize) -> Vec<usize> {
    let count = count.max(2);
    let mut times: Vec<usize> = (0..count)
        .map(|k| (k * steps + (count - 1) / 2) / (count - 1))
        .collect();
    times.dedup();
    times
}

/// The 2D-field episode figures of `net` on the first [`LINE_SCENES`] of `scenes`: a frame
/// picture and an animation per scene.
fn draw_field_episodes(
    scenario: &Scenario,
    method: &str,
    net: &dyn Network,
    scenes: &[Scene],
    dir: &Path,
    stem: &str,
) -> crate::Result<Vec<PathBuf>> {
    let spec = &scenario.spec;
    let sim = scenario.physics.sim();
    let (state_layout, control_layout) = (sim.state_layout(), sim.control_layout());
    let Some(shape) = plane(&state_layout) else {
        return Ok(Vec::new());
    };
    let cells = shape.0 * shape.1;
    let control_cells = plane(&control_layout).map(|(ny, nx)| ny * nx);
    let steps = spec.episode.steps;
    let scenes = &scenes[..scenes.len().min(LINE_SCENES)];
    let policy = Policy::new(&spec.episode, sim.state_dim(), scenario.control_scale());
    let r = rollout(&scenario.physics, &policy, net, scenes)?;
    let dt = sim.dt();
    let state_name = caption("state", &state_layout);
    let force_name = caption("force", &control_layout);
    let state_at = |b: usize, t: usize| Frame {
        caption: format!("{state_name} t = {:.3} s", t as f64 * dt),
        values: first_channel(&r.states[b][t], cells),
        group: 0,
    };
    // The force applied during step `t` (the last one at `t = T`), when it is a field too.
    let force_at = |b: usize, t: usize| {
        control_cells.map(|c| {
            let t = t.min(steps - 1);
            Frame {
                caption: format!("{force_name} t = {:.3} s", t as f64 * dt),
                values: first_channel(&r.controls[b][t], c),
                group: 1,
            }
        })
    };
    let target = |b: usize| Frame {
        caption: caption("target", &state_layout),
        values: first_channel(&scenes[b].target, cells),
        group: 0,
    };
    let times = frame_times(steps, FRAME_TIMES);
    let mut files = Vec::new();
    for b in 0..scenes.len() {
        let title = format!("{}: {method}, test scene {b}", spec.name);
        let mut frames: Vec<Frame> = times.iter().map(|&t| state_at(b, t)).collect();
        frames.push(target(b));
        frames.extend(times.iter().filter_map(|&t| force_at(b, t)));
        let layout = FrameLayout {
            shape,
            columns: times.len() + 1,
        };
        files.push(plot_frames(
            &dir.join(format!("frames_{stem}_scene{b}")),
            &title,
            layout,
            &frames,
        )?);
        let pictures: Vec<Vec<Frame>> = (0..=steps)
            .map(|t| {
                let mut picture = vec![state_at(b, t), target(b)];
                picture.extend(force_at(b, t));
                picture
            })
            .collect();
        let layout = FrameLayout { shape, columns: 3 };
        files.push(animate_frames(
            &dir.join(format!("episode_{stem}_scene{b}.gif")),
            &title,
            layout,
            &pictures,
            FRAME_DELAY_MS,
        )?);
    }
    Ok(files)
}

/// Example reconstructions of a single-prediction problem on a 2D field (input `y*`,
/// prediction, truth, error) for the first [`LINE_SCENES`] of `scenes` that carry the truth,
/// written to `<path_stem>.png`; nothing if the prediction is not a 2D field or no scene has
/// a truth.
fn draw_reconstructions(
    scenario: &Scenario,
    method: &str,
    net: &dyn Network,
    scenes: &[Scene],
    path_stem: &Path,
) -> crate::Result<Vec<PathBuf>> {
    let physics = &scenario.physics;
    let sim = physics.sim();
    let (state_layout, control_layout) = (sim.state_layout(), sim.control_layout());
    let (Some(shape), Some(state_shape)) = (plane(&control_layout), plane(&state_layout)) else {
        return Ok(Vec::new());
    };
    let scenes: Vec<Scene> = scenes
        .iter()
        .filter(|s| ground_truth(s).is_some())
        .take(LINE_SCENES)
        .cloned()
        .collect();
    if scenes.is_empty() {
        return Ok(Vec::new());
    }
    let spec = &scenario.spec;
    let policy = Policy::new(&spec.episode, sim.state_dim(), scenario.control_scale());
    let r = rollout(physics, &policy, net, &scenes)?;
    let cells = shape.0 * shape.1;
    let mut frames = Vec::new();
    for (b, scene) in scenes.iter().enumerate() {
        let control = &r.controls[b][0];
        let prediction = match physics.metrics() {
            Some(m) => m.prediction(&scene.initial, control),
            None => control.clone(),
        };
        let truth = ground_truth(scene).expect("kept only scenes with a truth");
        let error = &prediction - truth;
        let frame = |caption: String, v: &Vector, group| Frame {
            caption,
            values: first_channel(v, cells),
            group,
        };
        frames.push(Frame {
            caption: format!("scene {b}: input y*"),
            values: first_channel(&scene.target, state_shape.0 * state_shape.1),
            group: 0,
        });
        frames.push(frame("prediction".into(), &prediction, 1));
        frames.push(frame("truth x*".into(), truth, 1));
        frames.push(frame(
            format!(
                "error, Σ|·| = {:.1}",
                error.iter().map(|e| e.abs()).sum::<f64>()
            ),
            &error,
            2,
        ));
    }
    if state_shape != shape {
        // The input is drawn on the prediction's grid only when both are the same grid.
        frames.retain(|f| f.group != 0);
    }
    let columns = if state_shape == shape { 4 } else { 3 };
    let title = format!("{}: {method} on test scenes", spec.name);
    Ok(vec![plot_frames(
        path_stem,
        &title,
        FrameLayout { shape, columns },
        &frames,
    )?])
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
        // A plane of 4 × 4 cells is drawn as frames, a line of them as heatmaps.
        let plane = Layout::Grid(Grid {
            ny: 4,
            ..Grid::line(Component::new("T", "K"), 4, 0.25, "m", Boundary::Periodic)
        });
        assert_eq!(episode_figure(&plane), EpisodeFigure::Frames);
    }

    #[test]
    fn frame_times_spread_over_the_episode_without_repeats() {
        assert_eq!(frame_times(8, 5), [0, 2, 4, 6, 8]);
        assert_eq!(frame_times(32, 5), [0, 8, 16, 24, 32]);
        assert_eq!(frame_times(2, 5), [0, 1, 2]);
        assert_eq!(frame_times(1, 5), [0, 1]);
    }
}
