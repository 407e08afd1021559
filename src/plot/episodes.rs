//! Episode figures: states and controls of a few scenes against time, components named by
//! their layout ([`EpisodeLabels`]).

use super::{
    bounds, check_time_step, colour, draw_legend, draw_no_data, join_bounds, legend_width, render,
    Axis, DrawResult, Figure, LegendEntry, AXIS_PX, CAPTION_PX, FONT, LINE_PX, TICK_PX, TITLE_PX,
};
use crate::layout::Layout;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Width \[px\] of one panel.
const PANEL_WIDTH: u32 = 560;
/// Height \[px\] of one row of panels (one scene).
const ROW_HEIGHT: u32 = 320;
/// Height \[px\] of the title band.
const TITLE_HEIGHT: u32 = 50;
/// Most legend entries per kind (states, forces) before the list is shortened with `…`.
const LEGEND_LIMIT: usize = 8;

/// One scene of [`plot_episodes`]: `(states, controls, target)` with `states[t]` for
/// `t = 0..=T` (length `n` each), `controls[t]` for `t = 0..T` (length `m` each) and the target
/// state (length `n`).
pub type EpisodeScene = (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>);

/// The names an episode figure gives its lines: one label per state and per control
/// component, and the two panels' axis titles.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeLabels {
    /// Legend label of state component `i` (`θ [rad]`); missing ones are `state i`.
    pub states: Vec<String>,
    /// Legend label of control component `j` (`τ [N·m]`); missing ones are `force j`.
    pub controls: Vec<String>,
    /// Title of the states' axis (`state`, or `state [m]` when all share one unit).
    pub state_axis: String,
    /// Title of the controls' axis (`force`, or `force [N]` when all share one unit).
    pub control_axis: String,
}

impl Default for EpisodeLabels {
    /// `state i`, `force j`, axes `state` and `force`.
    fn default() -> Self {
        EpisodeLabels {
            states: Vec::new(),
            controls: Vec::new(),
            state_axis: "state".into(),
            control_axis: "force".into(),
        }
    }
}

impl EpisodeLabels {
    /// Labels from the state and control layouts ([`Layout::label`]); an axis carries the
    /// unit its components share, if they share one.
    pub fn from_layouts(state: &Layout, control: &Layout) -> Self {
        EpisodeLabels {
            states: state.labels(),
            controls: control.labels(),
            state_axis: axis_title("state", state),
            control_axis: axis_title("force", control),
        }
    }
}

/// `what [unit]` if every entry of `layout` has the same, stated unit; else `what`.
fn axis_title(what: &str, layout: &Layout) -> String {
    let mut units = (0..layout.len()).filter_map(|i| layout.quantity(i).map(|q| &q.unit));
    match units.next() {
        Some(first) if !first.is_empty() && units.all(|u| u == first) => {
            format!("{what} [{first}]")
        }
        _ => what.to_string(),
    }
}

/// Draws control episodes: one row per scene with two panels, the state components (left) and
/// the control components (right) against time `t = step · dt` \[s\].
///
/// `scenes[k] = (states, controls, target)`: `states[t]` for `t = 0..=T` (each of length `n`),
/// `controls[t]` for `t = 0..T` (each of length `m`, drawn as piecewise constant over
/// `[t·dt, (t+1)·dt]`), and the target state of length `n`, drawn as a dashed horizontal line
/// per component in the component's colour. Components keep their colour in every row; the
/// legend (right) names them. Pass a few scenes: the figure grows by one row per scene.
/// Writes `<path_stem>.png` and `<path_stem>.svg`; returns the paths.
///
/// Non-finite values are skipped (lines break); a scene or panel without plottable values
/// carries the note "no plottable data", and an empty `scenes` gives a figure with that note.
///
/// # Errors
/// [`crate::Error::Config`] if `dt` is not positive or the episode length `T·dt` is not
/// finite;
/// [`crate::Error::DimensionMismatch`] if a scene's states and target, or its controls,
/// differ in length; I/O and backend errors from writing the figure.
pub fn plot_episodes(
    path_stem: &Path,
    title: &str,
    dt: f64,
    scenes: &[EpisodeScene],
) -> crate::Result<Vec<PathBuf>> {
    plot_labelled_episodes(path_stem, title, dt, scenes, &EpisodeLabels::default())
}

/// [`plot_episodes`] with the components and axes named by `labels` (for instance
/// [`EpisodeLabels::from_layouts`] of the simulator's layouts).
///
/// # Errors
/// As [`plot_episodes`].
pub fn plot_labelled_episodes(
    path_stem: &Path,
    title: &str,
    dt: f64,
    scenes: &[EpisodeScene],
    labels: &EpisodeLabels,
) -> crate::Result<Vec<PathBuf>> {
    let steps = scenes
        .iter()
        .map(|(s, u, _)| s.len().max(u.len()))
        .max()
        .unwrap_or(0);
    check_time_step("plot_episodes", path_stem, dt, steps)?;
    let mut n_states = 0;
    let mut n_controls = 0;
    for (k, (states, controls, target)) in scenes.iter().enumerate() {
        let n = target.len();
        for (t, s) in states.iter().enumerate() {
            if s.len() != n {
                return Err(crate::Error::DimensionMismatch {
                    what: format!("scene {k}: state at step {t} (expected the target's length)"),
                    expected: n,
                    got: s.len(),
                });
            }
        }
        let m = controls.first().map_or(0, Vec::len);
        for (t, u) in controls.iter().enumerate() {
            if u.len() != m {
                return Err(crate::Error::DimensionMismatch {
                    what: format!("scene {k}: control at step {t}"),
                    expected: m,
                    got: u.len(),
                });
            }
        }
        n_states = n_states.max(n);
        n_controls = n_controls.max(m);
    }
    let figure = EpisodeFigure {
        title,
        dt,
        scenes,
        n_states,
        n_controls,
        labels,
    };
    render(path_stem, &figure)
}

struct EpisodeFigure<'a> {
    title: &'a str,
    dt: f64,
    scenes: &'a [EpisodeScene],
    n_states: usize,
    n_controls: usize,
    labels: &'a EpisodeLabels,
}

/// Colour index of state component `i`.
fn state_colour(i: usize) -> usize {
    i
}

impl EpisodeFigure<'_> {
    /// Colour index of control component `j` (after the state colours).
    fn control_colour(&self, j: usize) -> usize {
        self.n_states + j
    }

    fn legend(&self) -> Vec<LegendEntry> {
        let mut entries = Vec::new();
        let mut push_kind =
            |name: &str, count: usize, labels: &[String], colour_of: &dyn Fn(usize) -> usize| {
                for i in 0..count.min(LEGEND_LIMIT) {
                    entries.push(LegendEntry {
                        label: labels
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| format!("{name} {i}")),
                        colour: colour(colour_of(i)),
                        dashed: false,
                    });
                }
                if count > LEGEND_LIMIT {
                    entries.push(LegendEntry {
                        label: format!("… ({count} {name}s)"),
                        colour: WHITE,
                        dashed: false,
                    });
                }
            };
        let labels = self.labels;
        push_kind("state", self.n_states, &labels.states, &state_colour);
        push_kind("force", self.n_controls, &labels.controls, &|j| {
            self.control_colour(j)
        });
        entries.push(LegendEntry {
            label: "target".into(),
            colour: RGBColor(60, 60, 60),
            dashed: true,
        });
        entries
    }

    /// Number of steps `T` drawn on the shared time axis.
    fn steps(&self) -> usize {
        self.scenes
            .iter()
            .map(|(s, u, _)| s.len().saturating_sub(1).max(u.len()))
            .max()
            .unwrap_or(0)
    }
}

/// Runs of plottable `(t, value)` points of one line.
type Segments = Vec<Vec<(f64, f64)>>;

/// A line in time: `(t, value)` points, broken where a value is not plottable.
fn segments(points: impl Iterator<Item = (f64, f64)>) -> Segments {
    let axis = Axis { log: false };
    let mut out = Vec::new();
    let mut current = Vec::new();
    for (t, v) in points {
        match axis.coord(v) {
            Some(v) => current.push((t, v)),
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// One panel's content: solid lines per component and dashed levels.
struct Panel<'a> {
    caption: String,
    y_label: &'a str,
    /// `(colour index, segments)` per component.
    lines: Vec<(usize, Segments)>,
    /// `(colour index, level)` per target component.
    levels: Vec<(usize, f64)>,
}

impl Figure for EpisodeFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.scenes.len().max(1) as u32;
        (
            2 * PANEL_WIDTH + legend_width(&self.legend()),
            TITLE_HEIGHT + rows * ROW_HEIGHT,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = root.titled(self.title, (FONT, TITLE_PX))?;
        let legend = self.legend();
        let (width, _) = area.dim_in_pixel();
        let (main, legend_area) =
            area.split_horizontally(width.saturating_sub(legend_width(&legend)));
        draw_legend(&legend_area, &legend, 40)?;
        if self.scenes.is_empty() {
            return draw_no_data(&main);
        }
        let t_end = self.steps() as f64 * self.dt;
        let x_range = Axis { log: false }.range(Some((0.0, t_end)), 0.01);
        let cells = main.split_evenly((self.scenes.len(), 2));
        for (k, (states, controls, target)) in self.scenes.iter().enumerate() {
            let dt = self.dt;
            let state_panel = Panel {
                caption: format!("scene {k}: states"),
                y_label: &self.labels.state_axis,
                lines: (0..target.len())
                    .map(|i| {
                        let pts = states
                            .iter()
                            .enumerate()
                            .map(|(t, s)| (t as f64 * dt, s[i]));
                        (state_colour(i), segments(pts))
                    })
                    .collect(),
                levels: target
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| (state_colour(i), v))
                    .collect(),
            };
            let m = controls.first().map_or(0, Vec::len);
            let control_panel = Panel {
                caption: format!("scene {k}: forces"),
                y_label: &self.labels.control_axis,
                lines: (0..m)
                    .map(|j| {
                        let pts = controls.iter().enumerate().flat_map(|(t, u)| {
                            [(t as f64 * dt, u[j]), ((t + 1) as f64 * dt, u[j])]
                        });
                        (self.control_colour(j), segments(pts))
                    })
                    .collect(),
                levels: Vec::new(),
            };
            draw_panel(&cells[2 * k], &state_panel, x_range)?;
            draw_panel(&cells[2 * k + 1], &control_panel, x_range)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel<'_>,
    x_range: (f64, f64),
) -> DrawResult {
    let axis = Axis { log: false };
    let line_bounds = bounds(
        panel
            .lines
            .iter()
            .flat_map(|(_, s)| s.iter().flatten().map(|p| p.1)),
    );
    let level_bounds = bounds(panel.levels.iter().filter_map(|&(_, v)| axis.coord(v)));
    let empty = line_bounds.is_none();
    let y_range = axis.range(join_bounds(line_bounds, level_bounds), 0.08);

    let x_ticks = axis.ticks(x_range, 8);
    let y_ticks = axis.ticks(y_range, 6);
    let x_format = |v: &f64| x_ticks.label(*v);
    let y_format = |v: &f64| y_ticks.label(*v);

    let mut chart = ChartBuilder::on(area)
        .caption(&panel.caption, (FONT, CAPTION_PX))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(84)
        .build_cartesian_2d(x_ticks.bind(x_range), y_ticks.bind(y_range))?;
    chart
        .configure_mesh()
        .x_desc("t [s]")
        .y_desc(panel.y_label)
        .axis_desc_style((FONT, AXIS_PX))
        .label_style((FONT, TICK_PX))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .bold_line_style(BLACK.mix(0.15))
        .axis_style(BLACK.mix(0.8))
        .draw()?;

    for &(c, level) in &panel.levels {
        if let Some(level) = axis.coord(level) {
            chart.draw_series(DashedLineSeries::new(
                [(x_range.0, level), (x_range.1, level)],
                10,
                6,
                colour(c).stroke_width(LINE_PX),
            ))?;
        }
    }
    for (c, segments) in &panel.lines {
        let style = colour(*c).stroke_width(LINE_PX);
        for segment in segments {
            chart.draw_series(LineSeries::new(segment.iter().copied(), style))?;
            if segment.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(
                    segment[0],
                    4,
                    colour(*c).filled(),
                )))?;
            }
        }
    }
    if empty {
        draw_no_data(&chart.plotting_area().strip_coord_spec())?;
    }
    Ok(())
}
