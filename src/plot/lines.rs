//! The line chart behind [`super::plot_run`] and [`super::plot_sweep`]: one line per series,
//! linear or logarithmic axes, legend in a column to the right of the plot.

use super::{
    bounds, colour, draw_legend, draw_no_data, legend_width, Axis, DrawResult, Figure, LegendEntry,
    AXIS_PX, FONT, LINE_PX, TICK_PX, TITLE_PX,
};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width \[px\] of the chart without the legend column.
const PLOT_WIDTH: u32 = 900;
/// Height \[px\] of the figure.
const HEIGHT: u32 = 600;
/// Marker radius \[px\].
const MARKER_PX: u32 = 4;

/// One named line.
pub(crate) struct Series {
    /// Legend label.
    pub name: String,
    /// Index into the palette.
    pub colour_index: usize,
    /// Points `(x, y)` in data units, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
pub(crate) struct LineChart {
    /// Figure title.
    pub title: String,
    /// x-axis description, with units.
    pub x_label: String,
    /// y-axis description, with units.
    pub y_label: String,
    /// x axis scale.
    pub x_axis: Axis,
    /// y axis scale.
    pub y_axis: Axis,
    /// The lines.
    pub series: Vec<Series>,
    /// Draw a marker at every point (otherwise only at isolated points).
    pub markers: bool,
}

impl LineChart {
    /// Runs of consecutive plottable points, in axis coordinates.
    fn segments(&self, series: &Series) -> Vec<Vec<(f64, f64)>> {
        let mut segments = Vec::new();
        let mut current = Vec::new();
        for &(x, y) in &series.points {
            match (self.x_axis.coord(x), self.y_axis.coord(y)) {
                (Some(x), Some(y)) => current.push((x, y)),
                _ => {
                    if !current.is_empty() {
                        segments.push(std::mem::take(&mut current));
                    }
                }
            }
        }
        if !current.is_empty() {
            segments.push(current);
        }
        segments
    }

    fn legend(&self) -> Vec<LegendEntry> {
        self.series
            .iter()
            .map(|s| LegendEntry {
                label: s.name.clone(),
                colour: colour(s.colour_index),
                dashed: false,
            })
            .collect()
    }
}

impl Figure for LineChart {
    fn size(&self) -> (u32, u32) {
        (PLOT_WIDTH + legend_width(&self.legend()), HEIGHT)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let segments: Vec<_> = self.series.iter().map(|s| self.segments(s)).collect();
        let points = || segments.iter().flatten().flatten();
        let x_range = self.x_axis.range(bounds(points().map(|p| p.0)), 0.02);
        let y_range = self.y_axis.range(bounds(points().map(|p| p.1)), 0.05);
        let empty = points().next().is_none();

        let legend = self.legend();
        let (width, _) = root.dim_in_pixel();
        let (plot_area, legend_area) =
            root.split_horizontally(width.saturating_sub(legend_width(&legend)));

        let x_ticks = self.x_axis.ticks(x_range, 10);
        let y_ticks = self.y_axis.ticks(y_range, 10);
        let x_format = |v: &f64| x_ticks.label(*v);
        let y_format = |v: &f64| y_ticks.label(*v);

        let mut chart = ChartBuilder::on(&plot_area)
            .caption(&self.title, (FONT, TITLE_PX))
            .margin(16)
            .x_label_area_size(72)
            .y_label_area_size(104)
            .build_cartesian_2d(x_ticks.bind(x_range), y_ticks.bind(y_range))?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .axis_desc_style((FONT, AXIS_PX))
            .label_style((FONT, TICK_PX))
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .light_line_style(BLACK.mix(0.05))
            .bold_line_style(BLACK.mix(0.15))
            .axis_style(BLACK.mix(0.8))
            .draw()?;

        for (series, segments) in self.series.iter().zip(&segments) {
            let line = colour(series.colour_index).stroke_width(LINE_PX);
            let dot = colour(series.colour_index).filled();
            for segment in segments {
                chart.draw_series(LineSeries::new(segment.iter().copied(), line))?;
                if self.markers || segment.len() == 1 {
                    chart.draw_series(segment.iter().map(|&p| Circle::new(p, MARKER_PX, dot)))?;
                }
            }
        }
        if empty {
            draw_no_data(&chart.plotting_area().strip_coord_spec())?;
        }
        draw_legend(&legend_area, &legend, 16 + TITLE_PX as i32 + 24)
    }
}
