//! Figures: training curves of a run directory, parameter sweeps, control episodes and
//! space-time heatmaps (docs/method.md §3).
//!
//! | function | figure |
//! | --- | --- |
//! | [`plot_run`] | loss and a main metric against iteration and wall-clock time, one line per method |
//! | [`plot_sweep`] | a metric against a swept parameter, one line per method |
//! | [`plot_episodes`], [`plot_labelled_episodes`] | states and controls of a few scenes against time, targets dashed; components named by their layout ([`EpisodeLabels`]) |
//! | [`plot_heatmaps`] | space-time heatmaps of a 1D field (Burgers), blue-white-red |
//! | [`plot_frames`], [`animate_frames`] | images of 2D fields: frames at a few times, a prediction beside its truth; animated as a GIF |
//!
//! Every function but the 2D ones writes each figure in every [`Format`] — `<stem>.png` and
//! `<stem>.svg` — and returns the written paths (PNG first); images of 2D fields are PNG and
//! GIF only (an SVG would hold a rectangle per cell). Text is set in DejaVu Sans, embedded in the crate
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
//! a missing metric column, a time step that is not positive (or whose episode length is not
//! finite), or a failure inside the plotting backend;
//! [`crate::Error::DimensionMismatch`] for an episode whose vectors disagree in length.

mod episodes;
mod frames;
mod heatmaps;
mod lines;
mod metrics;
mod sweep;

pub use episodes::{plot_episodes, plot_labelled_episodes, EpisodeLabels, EpisodeScene};
pub use frames::{animate_frames, plot_frames, Frame, FrameLayout};
pub use heatmaps::plot_heatmaps;
pub use metrics::{plot_run, plot_runs, MetricsRow, MetricsTable};
pub use sweep::{plot_sweep, SweepPoint};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
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
// Text sizes are plotters sizes: the SVG backend writes `font-size = size / 1.24` and the
// bitmap backend scales DejaVu Sans to an em of about `0.86 · size`, so 20 gives ≥ 16 px text.
/// Figure title size.
pub(crate) const TITLE_PX: u32 = 30;
/// Panel caption size.
pub(crate) const CAPTION_PX: u32 = 25;
/// Axis description size.
pub(crate) const AXIS_PX: u32 = 23;
/// Tick label size.
pub(crate) const TICK_PX: u32 = 20;
/// Legend text size.
pub(crate) const LEGEND_PX: u32 = 22;
/// Line width of data series \[px\].
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
    /// Width and height \[px\].
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
    // Drawn into a temporary file beside it (with the extension that selects the encoder),
    // then renamed over it: a full disk or a failed draw never leaves a truncated figure.
    let tmp = png.with_file_name(format!(
        ".{}.tmp-{}.png",
        stem.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    // Report an unwritable path as an I/O error before the backend sees it.
    std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
    let drawn = {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        draw_on(&root, figure).map_err(backend_error(&png))
    };
    if let Err(e) = drawn.and_then(|()| std::fs::rename(&tmp, &png).map_err(io_error(&png))) {
        // Best effort: the temporary file may be gone already.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }

    let svg = Format::Svg.path(stem);
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw_on(&root, figure).map_err(backend_error(&svg))?;
    }
    crate::files::write_atomic(&svg, text.as_bytes())?;
    Ok(vec![png, svg])
}

/// Checks that the time step `dt` \[s\] is positive and that `steps · dt` is a finite time.
pub(crate) fn check_time_step(
    function: &str,
    stem: &Path,
    dt: f64,
    steps: usize,
) -> crate::Result<()> {
    let end = dt * steps.max(1) as f64;
    if dt > 0.0 && end.is_finite() && end <= MAX_LINEAR {
        Ok(())
    } else {
        Err(crate::Error::Config(format!(
            "{function} ({}): time step dt must be positive and {steps} steps of it a finite \
             time (at most {MAX_LINEAR:e} s), got dt = {dt}",
            stem.display()
        )))
    }
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

    /// Tick marks for the axis range `(lo, hi)` (axis coordinates), about `target` labelled.
    ///
    /// Linear axes: multiples of 1, 2 or 5 × 10ᵏ. Log axes: whole decades (with minor lines
    /// at 2…9 × 10ᵏ) when at least three fall inside the range; else 1, 2 and 5 × 10ᵏ over
    /// about a decade or more; linear steps in value space over a fraction of a decade.
    pub fn ticks(self, (lo, hi): (f64, f64), target: usize) -> Ticks {
        let span = hi - lo;
        if !self.log {
            let step = tick_step((lo, hi), target);
            let bold = multiples((lo, hi), step);
            let labels = bold.iter().map(|&v| linear_label(v, step)).collect();
            return Ticks::new(bold, Vec::new(), labels);
        }
        let in_range = |v: f64| v >= lo - 1e-9 && v <= hi + 1e-9;
        let decades = (lo.floor() as i64)..=(hi.ceil() as i64);
        // Whole decades when at least three fall inside the range.
        if hi.floor() - lo.ceil() >= 2.0 {
            let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
                .into_iter()
                .find(|d| span / d + 1.0 <= target.max(2) as f64)
                .unwrap_or(100.0);
            let bold = multiples((lo, hi), step);
            let labels = bold.iter().map(|&v| pow10(v.round() as i32)).collect();
            let light = if step == 1.0 && span <= 12.0 {
                decades
                    .flat_map(|k| (2..=9).map(move |m| k as f64 + f64::from(m).log10()))
                    .filter(|&v| in_range(v))
                    .collect()
            } else {
                Vec::new()
            };
            return Ticks::new(bold, light, labels);
        }
        if span >= 0.7 {
            let mut bold = Vec::new();
            let mut labels = Vec::new();
            let mut light = Vec::new();
            for k in decades {
                for m in 1..=9 {
                    let v = k as f64 + f64::from(m).log10();
                    if !in_range(v) {
                        continue;
                    }
                    match m {
                        1 => {
                            bold.push(v);
                            labels.push(pow10(k as i32));
                        }
                        2 | 5 => {
                            bold.push(v);
                            labels.push(format!("{m}·{}", pow10(k as i32)));
                        }
                        _ => light.push(v),
                    }
                }
            }
            return Ticks::new(bold, light, labels);
        }
        // A fraction of a decade: evenly spaced values.
        let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
        let step = tick_step((a, b), target.min(6));
        let values = multiples((a, b), step);
        let labels = values.iter().map(|&v| linear_label(v, step)).collect();
        Ticks::new(
            values.iter().map(|v| v.log10()).collect(),
            Vec::new(),
            labels,
        )
    }
}

/// Tick marks of one axis, in axis coordinates, with the labels of the major ones.
#[derive(Debug, Clone)]
pub(crate) struct Ticks {
    /// Labelled ticks (major grid lines).
    pub bold: Vec<f64>,
    /// Unlabelled minor grid lines.
    pub light: Vec<f64>,
    labels: Vec<String>,
}

impl Ticks {
    fn new(bold: Vec<f64>, light: Vec<f64>, labels: Vec<String>) -> Self {
        Ticks {
            bold,
            light,
            labels,
        }
    }

    /// Label of the major tick nearest to `v`.
    pub fn label(&self, v: f64) -> String {
        self.bold
            .iter()
            .zip(&self.labels)
            .min_by(|a, b| (a.0 - v).abs().total_cmp(&(b.0 - v).abs()))
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    /// `range` with these ticks bound to it, for `ChartBuilder::build_cartesian_2d`.
    pub fn bind(&self, (lo, hi): (f64, f64)) -> TickedRange {
        TickedRange {
            inner: (lo..hi).into(),
            bold: self.bold.clone(),
            light: self.light.clone(),
        }
    }
}

/// A linear `f64` coordinate with given major and minor tick positions (plotters'
/// `WithKeyPoints` lacks a value formatter for `f64`; labels come from [`Ticks::label`]).
pub(crate) struct TickedRange {
    inner: RangedCoordf64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for TickedRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// Integer multiples of `step` inside `[lo, hi]` (at most 1000).
fn multiples((lo, hi): (f64, f64), step: f64) -> Vec<f64> {
    // Tolerance (in steps) for a multiple on the edge of the range.
    const EDGE: f64 = 1e-9;
    if !(step > 0.0 && lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let first = (lo / step - EDGE).ceil();
    let last = (hi / step + EDGE).floor();
    if last < first || last - first > 1000.0 {
        return Vec::new();
    }
    (0..=((last - first) as i64))
        .map(|k| (first + k as f64) * step)
        .collect()
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

/// `10ᵏ` with a superscript exponent.
fn pow10(k: i32) -> String {
    format!("10{}", superscript(k))
}

/// `v` to three significant digits.
pub(crate) fn three_digits(v: f64) -> String {
    let scale = if v.is_finite() && v != 0.0 {
        10f64.powf(v.abs().log10().floor() - 2.0)
    } else {
        1.0
    };
    linear_label(v, scale)
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

/// Tick spacing: the smallest 1, 2 or 5 × 10ᵏ giving at most about `count` intervals.
fn tick_step((lo, hi): (f64, f64), count: usize) -> f64 {
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

/// Width \[px\] of a legend column holding `entries`.
pub(crate) fn legend_width(entries: &[LegendEntry]) -> u32 {
    let longest = entries
        .iter()
        .map(|e| e.label.chars().count())
        .max()
        .unwrap_or(0) as u32;
    // Sample line and gap 46 px, then about 0.55 of LEGEND_PX per character.
    (66 + longest * LEGEND_PX * 55 / 100).clamp(130, 350)
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
        assert_eq!(pow10(-3), "10⁻³");
        assert_eq!(three_digits(1.987), "1.99");
        assert_eq!(three_digits(0.2912), "0.291");
        assert_eq!(linear_label(200.0, 100.0), "200");
        assert_eq!(linear_label(0.25, 0.05), "0.25");
        assert_eq!(linear_label(1e-17, 0.1), "0");
        assert_eq!(linear_label(2.5e6, 5e5), "2.5·10⁶");
    }

    #[test]
    fn log_ticks() {
        let log = Axis { log: true };
        let wide = log.ticks((-6.3, 0.2), 10);
        assert_eq!(wide.bold.len(), 7); // 10⁻⁶ … 10⁰
        assert_eq!(wide.label(-3.0), "10⁻³");
        assert!(!wide.light.is_empty());
        let decade = log.ticks((-1.9, -0.8), 10);
        let labels: Vec<_> = decade.bold.iter().map(|&v| decade.label(v)).collect();
        assert_eq!(labels, ["2·10⁻²", "5·10⁻²", "10⁻¹"]);
        let narrow = log.ticks((0.0, 0.1), 6);
        assert!(narrow.bold.len() >= 2, "{narrow:?}");
        let huge = log.ticks((-300.0, 300.0), 10);
        assert!(huge.bold.len() <= 10 && huge.bold.len() >= 2, "{huge:?}");
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
