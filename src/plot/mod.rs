//! Figures: training curves of a run directory, parameter sweeps, control episodes and
//! space-time heatmaps (METHOD.md §3).
//!
//! | function | figure |
//! | --- | --- |
//! | [`plot_run`] | loss and a main metric against iteration and wall-clock time, one line per method |
//! | [`plot_sweep`] | a metric against a swept parameter, one line per method |
//! | [`plot_episodes`] | states and controls of a few scenes against time, targets dashed |
//! | [`plot_heatmaps`] | space-time heatmaps of a 1D field (Burgers), blue-white-red |
//!
//! Every function writes each figure in every [`Format`] — `<stem>.png` and `<stem>.svg` — and
//! returns the written paths (PNG first). Text is set in DejaVu Sans, embedded in the crate
//! (`src/plot/DejaVuSans.ttf`, license in `src/plot/FONT-LICENSE.txt`), so no system font
//! library is needed.
//!
//! # Bad values
//!
//! Plotting never panics on its input. Non-finite values, and non-positive values on a
//! logarithmic axis, are skipped: lines break at the gap, and an isolated remaining point is
//! drawn as a marker. Values of magnitude above [`MAX_LINEAR`] are skipped on linear axes (their
//! axis range could not be subdivided). When nothing in a panel is plottable the figure is
//! still written, with the note [`NO_DATA_NOTE`] in the plot area. Axis ranges are padded, and a
//! degenerate range (a single point, all values equal) is widened around its value.
//!
//! # Errors
//!
//! [`crate::Error::Io`] when a file or directory cannot be created or read,
//! [`crate::Error::Config`] for a malformed `metrics.csv` (the message names the file and line),
//! a missing metric column, an invalid time step, or a failure inside the plotting backend;
//! [`crate::Error::DimensionMismatch`] for an episode whose vectors disagree in length.

mod episodes;
mod heatmaps;
mod lines;
mod metrics;
mod sweep;

pub use episodes::plot_episodes;
pub use heatmaps::plot_heatmaps;
pub use metrics::{plot_run, MetricsRow, MetricsTable};
pub use sweep::{plot_sweep, SweepPoint};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Image formats written for every figure; each plotting function writes all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Raster image, `<stem>.png`.
    Png,
    /// Vector image, `<stem>.svg` (text as `<text>` elements in a sans-serif font).
    Svg,
}

impl Format {
    /// Every format, in the order the files are written and returned.
    pub const ALL: [Format; 2] = [Format::Png, Format::Svg];

    /// File extension without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }

    /// `<stem>.<extension>`. The extension is appended, so dots inside `stem` are kept
    /// (`xi=0.5` becomes `xi=0.5.png`).
    pub fn path(self, stem: &Path) -> PathBuf {
        let mut name = stem.as_os_str().to_owned();
        name.push(".");
        name.push(self.extension());
        PathBuf::from(name)
    }
}

/// Note drawn in a panel that has no plottable value.
pub const NO_DATA_NOTE: &str = "no plottable data";

/// Largest magnitude drawn on a linear axis; larger values are skipped like non-finite ones.
pub const MAX_LINEAR: f64 = 1e100;

/// DejaVu Sans (Bitstream Vera license, see `FONT-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("DejaVuSans.ttf");

/// Family name under which the embedded font is registered.
pub(crate) const FONT: &str = "sans-serif";
/// Figure title size [px].
pub(crate) const TITLE_PX: u32 = 26;
/// Panel caption size [px].
pub(crate) const CAPTION_PX: u32 = 21;
/// Axis description size [px].
pub(crate) const AXIS_PX: u32 = 19;
/// Tick label size [px].
pub(crate) const TICK_PX: u32 = 16;
/// Legend text size [px].
pub(crate) const LEGEND_PX: u32 = 18;
/// Line width of data series [px].
pub(crate) const LINE_PX: u32 = 2;

/// Eight colours that stay distinct for colour-blind readers (Okabe–Ito, with black replaced
/// by grey and yellow darkened for contrast on white).
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(120, 120, 120), // grey
    RGBColor(170, 150, 0),   // dark yellow
];

/// Colour of the `i`-th series (cycles after eight).
pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the embedded font once per process.
fn ensure_font() -> crate::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(crate::Error::Config(
            "plot: the embedded font DejaVu Sans could not be loaded".into(),
        ))
    }
}

/// A drawing failure inside a backend, as text.
pub(crate) struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

/// Result of drawing onto a backend.
pub(crate) type DrawResult = Result<(), DrawError>;

/// A figure that can draw itself onto any backend.
pub(crate) trait Figure {
    /// Width and height [px].
    fn size(&self) -> (u32, u32);
    /// Draws onto `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> crate::Error + '_ {
    move |source| crate::Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn backend_error(path: &Path) -> impl FnOnce(DrawError) -> crate::Error + '_ {
    move |e| crate::Error::Config(format!("{}: cannot draw figure: {}", path.display(), e.0))
}

fn draw_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &impl Figure) -> DrawResult {
    root.fill(&WHITE)?;
    figure.draw(root)?;
    root.present()?;
    Ok(())
}

/// Writes `figure` as `<stem>.png` and `<stem>.svg`, creating the parent directory.
pub(crate) fn render(stem: &Path, figure: &impl Figure) -> crate::Result<Vec<PathBuf>> {
    ensure_font()?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let size = figure.size();

    let png = Format::Png.path(stem);
    // Report an unwritable path as an I/O error before the backend sees it.
    std::fs::File::create(&png).map_err(io_error(&png))?;
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw_on(&root, figure).map_err(backend_error(&png))?;
    }

    let svg = Format::Svg.path(stem);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw_on(&root, figure).map_err(backend_error(&svg))?;
    }
    crate::output::write_atomic(&svg, text.as_bytes())?;
    Ok(vec![png, svg])
}

/// A file-name-safe version of `name`: letters, digits, `_`, `-`, `.` kept, the rest `_`.
pub(crate) fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "unnamed".into()
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Axes

/// One axis: linear, or logarithmic (coordinates are `log10` of the values).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Axis {
    /// Logarithmic axis.
    pub log: bool,
}

impl Axis {
    /// Axis coordinate of a value, or `None` if the value cannot be drawn on this axis.
    pub fn coord(self, v: f64) -> Option<f64> {
        if self.log {
            (v.is_finite() && v > 0.0).then(|| v.log10())
        } else {
            (v.is_finite() && v.abs() <= MAX_LINEAR).then_some(v)
        }
    }

    /// Padded axis range (in axis coordinates) covering `[lo, hi]`; `None` bounds (no data)
    /// give a default range. `pad` is the fraction of the span added on each side.
    pub fn range(self, bounds: Option<(f64, f64)>, pad: f64) -> (f64, f64) {
        let Some((lo, hi)) = bounds else {
            return if self.log { (-1.0, 1.0) } else { (0.0, 1.0) };
        };
        let span = hi - lo;
        // Relative width under which a range counts as a single value: finer ranges cannot
        // be labelled distinctly in f64.
        const DEGENERATE: f64 = 1e-9;
        let degenerate = span.is_nan() || span <= DEGENERATE * lo.abs().max(hi.abs());
        if degenerate || span <= 0.0 {
            let mid = 0.5 * (lo + hi);
            let half = if self.log {
                0.5 // half a decade each side
            } else if mid.abs() > 0.0 {
                0.1 * mid.abs()
            } else {
                1.0
            };
            return (mid - half, mid + half);
        }
        (lo - pad * span, hi + pad * span)
    }

    /// Number of tick labels to request for the axis range `(lo, hi)`: whole decades on a log
    /// axis spanning at least two decades.
    pub fn label_count(self, (lo, hi): (f64, f64), default: usize) -> usize {
        let span = hi - lo;
        if self.log && span >= 2.0 {
            ((span.floor() as usize) + 1).min(default)
        } else {
            default
        }
    }

    /// Tick label for the axis coordinate `v`; `step` estimates the tick spacing.
    pub fn label(self, v: f64, step: f64) -> String {
        if self.log {
            log_label(v, step)
        } else {
            linear_label(v, step)
        }
    }
}

/// Bounds `(min, max)` of an iterator of finite coordinates.
pub(crate) fn bounds(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Joins two optional bounds.
pub(crate) fn join_bounds(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, None) => a,
        (None, b) => b,
    }
}

fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// Label of a log-axis coordinate `v = log10(value)`: `10⁻³`, or `3.2·10⁻⁴` between decades.
fn log_label(v: f64, step: f64) -> String {
    // Tolerance for a tick to count as a whole decade (tick positions carry rounding error).
    const DECADE_TOL: f64 = 1e-6;
    if (v - v.round()).abs() < DECADE_TOL {
        return format!("10{}", superscript(v.round() as i32));
    }
    // Significant digits so that neighbouring ticks (ratio 10^step) differ.
    let rel = (step * std::f64::consts::LN_10).max(1e-12);
    let digits = ((-rel.log10()).ceil() as i32 + 1).clamp(2, 6) as usize;
    let text = format!("{:.*e}", digits - 1, 10f64.powf(v));
    match text.split_once('e') {
        Some((mantissa, exp)) => {
            let exp: i32 = exp.parse().unwrap_or(0);
            if exp == 0 {
                mantissa.to_string()
            } else {
                format!("{mantissa}·10{}", superscript(exp))
            }
        }
        None => text,
    }
}

/// Label of a linear-axis value with as many decimals as the tick spacing needs.
fn linear_label(v: f64, step: f64) -> String {
    let step = step.abs().max(f64::MIN_POSITIVE);
    if v.abs() < 1e-6 * step {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let digits = (a.log10().floor() - step.log10().floor()).clamp(0.0, 4.0) as usize;
        let text = format!("{v:.digits$e}");
        return match text.split_once('e') {
            Some((m, e)) => format!("{m}·10{}", superscript(e.parse().unwrap_or(0))),
            None => text,
        };
    }
    let decimals = (-step.log10()).ceil().clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// Estimated tick spacing for `count` labels over `(lo, hi)`.
pub(crate) fn tick_step((lo, hi): (f64, f64), count: usize) -> f64 {
    let raw = (hi - lo) / count.max(1) as f64;
    if !(raw > 0.0 && raw.is_finite()) {
        return 1.0;
    }
    let scale = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * scale)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * scale)
}

// ---------------------------------------------------------------------------------------------
// Shared drawing pieces

/// One legend entry: a line sample (solid or dashed) and a label.
pub(crate) struct LegendEntry {
    /// Text.
    pub label: String,
    /// Colour of the sample.
    pub colour: RGBColor,
    /// Dashed sample (targets).
    pub dashed: bool,
}

/// Width [px] of a legend column holding `entries`.
pub(crate) fn legend_width(entries: &[LegendEntry]) -> u32 {
    let longest = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0) as u32;
    // Sample line 34 px plus about 0.6 em per character at LEGEND_PX.
    (50 + longest * LEGEND_PX * 6 / 10).clamp(110, 320)
}

/// Draws a legend column into `area`, starting `top` px below its upper edge.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    top: i32,
) -> DrawResult {
    let row = LEGEND_PX as i32 + 10;
    let text = TextStyle::from((FONT, LEGEND_PX).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let y = top + i as i32 * row;
        let style = e.colour.stroke_width(LINE_PX + 1);
        if e.dashed {
            for k in 0..3 {
                let x0 = 8 + k * 11;
                area.draw(&PathElement::new(vec![(x0, y), (x0 + 7, y)], style))?;
            }
        } else {
            area.draw(&PathElement::new(vec![(8, y), (38, y)], style))?;
        }
        area.draw(&Text::new(e.label.clone(), (46, y), text.clone()))?;
    }
    Ok(())
}

/// Draws [`NO_DATA_NOTE`] in the middle of a chart's plotting area.
pub(crate) fn draw_no_data<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, AXIS_PX).into_font())
        .color(&RGBColor(150, 0, 0))
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new(
        NO_DATA_NOTE,
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(log_label(-3.0, 1.0), "10⁻³");
        assert_eq!(log_label(0.0, 1.0), "10⁰");
        assert_eq!(log_label(-3.5, 0.5), "3.2·10⁻⁴");
        assert_eq!(linear_label(200.0, 100.0), "200");
        assert_eq!(linear_label(0.25, 0.05), "0.25");
        assert_eq!(linear_label(1e-17, 0.1), "0");
        assert_eq!(linear_label(2.5e6, 5e5), "2.5·10⁶");
    }

    #[test]
    fn degenerate_ranges_are_widened() {
        // Rounding of the range arithmetic.
        const TOL: f64 = 1e-12;
        let close = |(a, b): (f64, f64), (c, d): (f64, f64)| {
            assert!(
                (a - c).abs() < TOL && (b - d).abs() < TOL,
                "{a},{b} vs {c},{d}"
            )
        };
        let lin = Axis { log: false };
        close(lin.range(Some((3.0, 3.0)), 0.05), (2.7, 3.3));
        close(lin.range(Some((0.0, 0.0)), 0.05), (-1.0, 1.0));
        close(lin.range(None, 0.05), (0.0, 1.0));
        close(lin.range(Some((0.0, 10.0)), 0.05), (-0.5, 10.5));
        let log = Axis { log: true };
        close(log.range(Some((-2.0, -2.0)), 0.05), (-2.5, -1.5));
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("x_dist/ξ"), "x_dist__");
        assert_eq!(file_stem(""), "unnamed");
    }
}
