//! Space-time heatmaps of a 1D field (Burgers velocity and force).

use super::{
    check_time_step, draw_no_data, render, three_digits, Axis, DrawResult, Figure, AXIS_PX,
    CAPTION_PX, FONT, TICK_PX, TITLE_PX,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Width \[px\] of one panel.
const PANEL_WIDTH: u32 = 330;
/// Height \[px\] of the title band.
const TITLE_HEIGHT: u32 = 50;
/// Height \[px\] of a heatmap panel.
const MAP_HEIGHT: u32 = 500;
/// Height \[px\] of the colour bar under each panel.
const BAR_HEIGHT: u32 = 100;
/// Space \[px\] left of each plot for the time labels.
const Y_LABEL_AREA: u32 = 76;
/// Colour of cells whose value is not finite.
pub(super) const MISSING: RGBColor = RGBColor(150, 150, 150);
/// Number of colour steps in a colour bar.
const BAR_STEPS: usize = 100;

/// Draws space-time heatmaps of a 1D field on `[0, 1]`, panels side by side, each with its
/// name as caption: typically "uncontrolled", "controlled", "target" and "force".
///
/// `panels[k] = (name, rows)`: `rows[r][i]` is the value in cell `i` at step `r`; cell `i` of a
/// row of `n` cells covers `x ∈ [i/n, (i+1)/n]` and row `r` covers `t ∈ [r·dt, (r+1)·dt]` \[s\].
/// A panel with a single row (a target state) is stretched over the whole time axis. The
/// colour map is diverging blue–white–red with symmetric limits `±L`, `L` the largest finite
/// magnitude: one shared `L` for all panels whose name does not contain "force"
/// (case-insensitive), so states compare directly, and an own `L` per force panel. A colour
/// bar with its limits sits under every panel; non-finite cells are grey. Writes
/// `<path_stem>.png` and `<path_stem>.svg`; returns the paths.
///
/// A panel without rows carries the note "no plottable data"; an empty `panels` gives a
/// figure with that note.
///
/// # Errors
/// [`crate::Error::Config`] if `dt` is not positive or the episode length `T·dt` is not
/// finite; I/O and backend errors from writing the figure.
pub fn plot_heatmaps(
    path_stem: &Path,
    title: &str,
    dt: f64,
    panels: &[(&str, Vec<Vec<f64>>)],
) -> crate::Result<Vec<PathBuf>> {
    let steps = panels.iter().map(|(_, rows)| rows.len()).max().unwrap_or(0);
    check_time_step("plot_heatmaps", path_stem, dt, steps)?;
    let figure = HeatmapFigure { title, dt, panels };
    render(path_stem, &figure)
}

struct HeatmapFigure<'a, 'b> {
    title: &'a str,
    dt: f64,
    panels: &'a [(&'b str, Vec<Vec<f64>>)],
}

fn is_force(name: &str) -> bool {
    name.to_lowercase().contains("force")
}

/// Largest finite magnitude in `rows`, or 1 if there is none (or it is zero).
pub(super) fn limit<'r>(rows: impl IntoIterator<Item = &'r Vec<f64>>) -> f64 {
    let l = rows
        .into_iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    if l > 0.0 && l.is_finite() {
        l
    } else {
        1.0
    }
}

/// Blue (negative) – white (zero) – red (positive), saturated at `±lim`.
pub(super) fn diverging(v: f64, lim: f64) -> RGBColor {
    if !v.is_finite() {
        return MISSING;
    }
    const BLUE: [f64; 3] = [33.0, 102.0, 172.0];
    const MID: [f64; 3] = [247.0, 247.0, 247.0];
    const RED: [f64; 3] = [178.0, 24.0, 43.0];
    let x = (v / lim).clamp(-1.0, 1.0);
    let (end, f) = if x < 0.0 { (BLUE, -x) } else { (RED, x) };
    let c = |k: usize| (MID[k] + f * (end[k] - MID[k])).round() as u8;
    RGBColor(c(0), c(1), c(2))
}

impl Figure for HeatmapFigure<'_, '_> {
    fn size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u32;
        (n * PANEL_WIDTH + 20, TITLE_HEIGHT + MAP_HEIGHT + BAR_HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let area = root.titled(self.title, (FONT, TITLE_PX))?;
        if self.panels.is_empty() {
            return draw_no_data(&area);
        }
        let (width, _) = area.dim_in_pixel();
        let (area, _) = area.split_horizontally(width.saturating_sub(20));
        let state_limit = limit(
            self.panels
                .iter()
                .filter(|(name, _)| !is_force(name))
                .flat_map(|(_, rows)| rows),
        );
        let steps = self
            .panels
            .iter()
            .map(|(_, rows)| rows.len())
            .filter(|&r| r > 1)
            .max()
            .unwrap_or(1);
        let t_end = steps as f64 * self.dt;
        let columns = area.split_evenly((1, self.panels.len()));
        for ((name, rows), column) in self.panels.iter().zip(&columns) {
            let lim = if is_force(name) {
                limit(rows)
            } else {
                state_limit
            };
            let (map_area, bar_area) = column.split_vertically(MAP_HEIGHT);
            draw_map(&map_area, name, rows, lim, t_end, self.dt)?;
            draw_bar(&bar_area, lim)?;
        }
        Ok(())
    }
}

fn draw_map<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    rows: &[Vec<f64>],
    lim: f64,
    t_end: f64,
    dt: f64,
) -> DrawResult {
    let axis = Axis { log: false };
    let x_ticks = axis.ticks((0.0, 1.0), 6);
    let y_ticks = axis.ticks((0.0, t_end), 8);
    let x_format = |v: &f64| x_ticks.label(*v);
    let y_format = |v: &f64| y_ticks.label(*v);
    let mut chart = ChartBuilder::on(area)
        .caption(name, (FONT, CAPTION_PX))
        .margin(10)
        .x_label_area_size(54)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_ticks.bind((0.0, 1.0)), y_ticks.bind((0.0, t_end)))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x")
        .y_desc("t [s]")
        .axis_desc_style((FONT, AXIS_PX))
        .label_style((FONT, TICK_PX))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .axis_style(BLACK.mix(0.8))
        .draw()?;
    let stretched = rows.len() == 1;
    for (r, row) in rows.iter().enumerate() {
        let (t0, t1) = if stretched {
            (0.0, t_end)
        } else {
            (r as f64 * dt, (r + 1) as f64 * dt)
        };
        let n = row.len() as f64;
        chart.draw_series(row.iter().enumerate().map(|(i, &v)| {
            Rectangle::new(
                [(i as f64 / n, t0), ((i + 1) as f64 / n, t1)],
                diverging(v, lim).filled(),
            )
        }))?;
    }
    if rows.iter().all(Vec::is_empty) {
        draw_no_data(&chart.plotting_area().strip_coord_spec())?;
    }
    Ok(())
}

fn draw_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, lim: f64) -> DrawResult {
    let axis = Axis { log: false };
    let ticks = axis.ticks((-lim, lim), 4);
    let x_format = |v: &f64| ticks.label(*v);
    let mut chart = ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(10)
        .margin_top(8)
        .x_label_area_size(56)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(ticks.bind((-lim, lim)), 0.0..1.0)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_y_axis()
        .x_desc(format!("colour scale, limits ±{}", three_digits(lim)))
        .axis_desc_style((FONT, TICK_PX))
        .label_style((FONT, TICK_PX))
        .x_label_formatter(&x_format)
        .axis_style(BLACK.mix(0.8))
        .draw()?;
    let width = 2.0 * lim / BAR_STEPS as f64;
    chart.draw_series((0..BAR_STEPS).map(|k| {
        let x0 = -lim + k as f64 * width;
        let mid = x0 + 0.5 * width;
        Rectangle::new([(x0, 0.0), (x0 + width, 1.0)], diverging(mid, lim).filled())
    }))?;
    Ok(())
}
