//! Images of 2D fields: a grid of frames (a field at a few times, a prediction beside its
//! truth) as one PNG, and animations of such grids as GIFs.
//!
//! Every frame is a `ny × nx` field, row-major (entry `y·nx + x`, row 0 drawn at the top),
//! coloured blue–white–red with symmetric limits `±L`. Frames of one colour group share `L`
//! (the largest finite magnitude over the group's frames, in every picture of an animation),
//! so states at different times, or a prediction and its truth, compare directly; each
//! caption ends with its group's limit. Non-finite cells are grey.
//!
//! Only raster formats are written: an SVG would hold a rectangle per cell (4096 for each
//! 64² frame).

use super::heatmaps::{diverging, limit};
use super::{
    backend_error, ensure_font, io_error, three_digits, DrawError, DrawResult, FONT, TITLE_PX,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Side \[px\] of one frame's image.
const FRAME_PX: u32 = 220;
/// Height \[px\] of a frame's caption band.
const CAPTION_HEIGHT: u32 = 30;
/// Height \[px\] of the title band.
const TITLE_HEIGHT: u32 = 50;
/// Space \[px\] around each frame.
const GAP: u32 = 12;
/// Caption text size \[px\].
const FRAME_CAPTION_PX: u32 = 15;

/// One field in a picture: its caption, its values and the colour group it shares a scale
/// with.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Caption above the image, e.g. `state t = 0.20 s`.
    pub caption: String,
    /// `ny × nx` values, row-major.
    pub values: Vec<f64>,
    /// Frames with the same group share their colour limits.
    pub group: usize,
}

/// A picture of frames, `columns` to a row, each of the field shape `(ny, nx)`.
#[derive(Debug, Clone, Copy)]
pub struct FrameLayout {
    /// Rows `ny` and columns `nx` of every field.
    pub shape: (usize, usize),
    /// Frames per row of the picture.
    pub columns: usize,
}

impl FrameLayout {
    fn size(&self, frames: usize) -> (u32, u32) {
        let columns = self.columns.max(1);
        let rows = frames.div_ceil(columns).max(1) as u32;
        let cell_w = FRAME_PX + 2 * GAP;
        let cell_h = FRAME_PX + CAPTION_HEIGHT + 2 * GAP;
        (columns as u32 * cell_w, TITLE_HEIGHT + rows * cell_h)
    }

    /// Whether every frame has `ny · nx` values.
    fn check(&self, stem: &Path, frames: &[Frame]) -> crate::Result<()> {
        let cells = self.shape.0 * self.shape.1;
        match frames.iter().find(|f| f.values.len() != cells) {
            None => Ok(()),
            Some(f) => Err(crate::Error::DimensionMismatch {
                what: format!(
                    "{}: frame '{}' of a {} × {} field",
                    stem.display(),
                    f.caption,
                    self.shape.0,
                    self.shape.1
                ),
                expected: cells,
                got: f.values.len(),
            }),
        }
    }
}

/// The colour limit of every group over all `pictures`, indexed by group.
fn group_limits<'f>(pictures: impl IntoIterator<Item = &'f [Frame]> + Clone) -> Vec<f64> {
    let groups = pictures
        .clone()
        .into_iter()
        .flatten()
        .map(|f| f.group + 1)
        .max()
        .unwrap_or(0);
    (0..groups)
        .map(|g| {
            let values: Vec<&Vec<f64>> = pictures
                .clone()
                .into_iter()
                .flatten()
                .filter(|f| f.group == g)
                .map(|f| &f.values)
                .collect();
            limit(values)
        })
        .collect()
}

/// Draws the frames of one picture onto `root` (already white).
fn draw_picture<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    layout: FrameLayout,
    frames: &[Frame],
    limits: &[f64],
) -> DrawResult {
    root.draw_text(
        title,
        &(FONT, TITLE_PX).into_text_style(root),
        (GAP as i32, (GAP / 2) as i32),
    )?;
    let (ny, nx) = layout.shape;
    let columns = layout.columns.max(1);
    let caption_style = (FONT, FRAME_CAPTION_PX).into_text_style(root);
    for (k, frame) in frames.iter().enumerate() {
        let (row, column) = ((k / columns) as u32, (k % columns) as u32);
        let left = (column * (FRAME_PX + 2 * GAP) + GAP) as i32;
        let top = (TITLE_HEIGHT + row * (FRAME_PX + CAPTION_HEIGHT + 2 * GAP) + GAP) as i32;
        let lim = limits.get(frame.group).copied().unwrap_or(1.0);
        let caption = format!("{} (±{})", frame.caption, three_digits(lim));
        root.draw_text(&caption, &caption_style, (left, top))?;
        let top = top + CAPTION_HEIGHT as i32;
        let px = |i: usize, n: usize| (i as u64 * u64::from(FRAME_PX) / n.max(1) as u64) as i32;
        for y in 0..ny {
            for x in 0..nx {
                let v = frame.values[y * nx + x];
                root.draw(&Rectangle::new(
                    [
                        (left + px(x, nx), top + px(y, ny)),
                        (left + px(x + 1, nx), top + px(y + 1, ny)),
                    ],
                    diverging(v, lim).filled(),
                ))?;
            }
        }
        root.draw(&Rectangle::new(
            [(left, top), (left + FRAME_PX as i32, top + FRAME_PX as i32)],
            BLACK.mix(0.6),
        ))?;
    }
    Ok(())
}

/// Writes `frames` as one picture, `<path_stem>.png`, `layout.columns` frames to a row, under
/// `title`; returns the path.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] if a frame is not of `layout.shape`; I/O and backend
/// errors from writing the file.
pub fn plot_frames(
    path_stem: &Path,
    title: &str,
    layout: FrameLayout,
    frames: &[Frame],
) -> crate::Result<PathBuf> {
    layout.check(path_stem, frames)?;
    let limits = group_limits([frames]);
    let path = super::Format::Png.path(path_stem);
    write_through_temporary(&path, |tmp| {
        let root = BitMapBackend::new(tmp, layout.size(frames.len())).into_drawing_area();
        root.fill(&WHITE)?;
        draw_picture(&root, title, layout, frames, &limits)?;
        Ok(root.present()?)
    })?;
    Ok(path)
}

/// Writes `pictures` as the frames of an animated GIF at `path` (`delay_ms` per picture, every
/// picture of the same frame count), under `title`; colour limits are fixed over the whole
/// animation. Returns the path.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] if a frame is not of `layout.shape`; I/O and backend
/// errors from writing the file.
pub fn animate_frames(
    path: &Path,
    title: &str,
    layout: FrameLayout,
    pictures: &[Vec<Frame>],
    delay_ms: u32,
) -> crate::Result<PathBuf> {
    for picture in pictures {
        layout.check(path, picture)?;
    }
    let limits = group_limits(pictures.iter().map(Vec::as_slice));
    let frames = pictures.iter().map(Vec::len).max().unwrap_or(0);
    write_through_temporary(path, |tmp| {
        let root = BitMapBackend::gif(tmp, layout.size(frames), delay_ms)
            .map_err(|e| DrawError(e.to_string()))?
            .into_drawing_area();
        for picture in pictures {
            root.fill(&WHITE)?;
            draw_picture(&root, title, layout, picture, &limits)?;
            root.present()?;
        }
        Ok(())
    })?;
    Ok(path.to_path_buf())
}

/// Runs `draw` on a temporary file beside `path` (with its extension, which selects the
/// encoder), then renames it over `path`: a failed draw never leaves a truncated file.
fn write_through_temporary(
    path: &Path,
    draw: impl FnOnce(&Path) -> DrawResult,
) -> crate::Result<()> {
    ensure_font()?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let extension = path.extension().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}.{extension}",
        path.file_stem().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
    let written = draw(&tmp)
        .map_err(backend_error(path))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_error(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(caption: &str, values: Vec<f64>, group: usize) -> Frame {
        Frame {
            caption: caption.into(),
            values,
            group,
        }
    }

    #[test]
    fn groups_share_limits_over_every_picture() {
        let a = vec![
            frame("a", vec![1.0, -3.0], 0),
            frame("f", vec![0.5, 0.1], 1),
        ];
        let b = vec![frame("b", vec![2.0, f64::NAN], 0)];
        let limits = group_limits([a.as_slice(), b.as_slice()]);
        assert_eq!(limits, vec![3.0, 0.5]);
    }

    #[test]
    fn pictures_and_animations_are_written_and_shapes_checked() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let layout = FrameLayout {
            shape: (3, 4),
            columns: 2,
        };
        let field = |s: f64| (0..12).map(|i| (i as f64 * s).sin()).collect::<Vec<_>>();
        let frames = vec![
            frame("state t = 0", field(0.3), 0),
            frame("target", field(0.7), 0),
            frame("force", field(1.1), 1),
        ];
        let png = plot_frames(&dir.path().join("frames"), "test", layout, &frames).expect("png");
        assert!(std::fs::metadata(&png).expect("written").len() > 0);
        let gif = dir.path().join("anim.gif");
        animate_frames(&gif, "test", layout, &[frames.clone(), frames.clone()], 200).expect("gif");
        let bytes = std::fs::read(&gif).expect("gif written");
        assert!(bytes.starts_with(b"GIF89a"), "not a GIF");
        let wrong = vec![frame("short", vec![0.0; 5], 0)];
        let err = plot_frames(&dir.path().join("bad"), "test", layout, &wrong).unwrap_err();
        assert!(err.to_string().contains("expected 12, got 5"), "{err}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("listing")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
}
