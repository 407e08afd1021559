//! The shape of a batch of grids as the convolutional layers see it: `batch × channels × ny ×
//! nx` `f32` values, each image channel-major (`(c·ny + y)·nx + x`, the order of a grid
//! [`crate::layout::Layout`]) and the images one after the other — a network batch's columns
//! as they lie in memory. Also what lies beyond the edges ([`Padding`]) and the fixed split of
//! a batch into chunks of images that every parallel loop and every sum over images uses.

use std::ops::Range;

/// A batch of images: `batch × channels × ny × nx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Images.
    pub batch: usize,
    /// Channels per image.
    pub channels: usize,
    /// Rows per channel.
    pub ny: usize,
    /// Columns per row.
    pub nx: usize,
}

impl Shape {
    /// `batch` images of `channels × ny × nx`.
    pub fn new(batch: usize, channels: usize, ny: usize, nx: usize) -> Shape {
        Shape {
            batch,
            channels,
            ny,
            nx,
        }
    }

    /// Cells per channel, `ny · nx`.
    pub fn cells(&self) -> usize {
        self.ny * self.nx
    }

    /// Values per image, `channels · ny · nx`.
    pub fn image(&self) -> usize {
        self.channels * self.cells()
    }

    /// Values in the batch.
    pub fn len(&self) -> usize {
        self.batch * self.image()
    }

    /// Whether the batch holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same images with `channels` channels.
    pub fn with_channels(&self, channels: usize) -> Shape {
        Shape { channels, ..*self }
    }

    /// The same channels on a grid of `ny × nx`.
    pub fn with_grid(&self, ny: usize, nx: usize) -> Shape {
        Shape { ny, nx, ..*self }
    }

    /// The same images, `batch` of them.
    pub fn with_batch(&self, batch: usize) -> Shape {
        Shape { batch, ..*self }
    }
}

/// What a convolution reads beyond a grid's edges. RON names `zero` and `periodic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// Zeros (a bounded domain; PyTorch's default).
    Zero,
    /// The opposite edge (a periodic domain): the cell before the first is the last.
    Periodic,
}

impl Padding {
    /// The name as written in RON.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Zero => "zero",
            Padding::Periodic => "periodic",
        }
    }
}

/// Images per chunk of a batch: the unit of the parallel loops that sum over images (a
/// convolution's weight gradient, batch statistics). A property of the batch, never of the
/// thread count, so those sums are formed in the same order on any number of threads.
pub const CHUNK: usize = 4;

/// The chunks of a batch of `batch` images: `0..4, 4..8, …`, the last one shorter.
pub fn chunks(batch: usize) -> impl Iterator<Item = Range<usize>> + Clone {
    (0..batch.div_ceil(CHUNK)).map(move |c| c * CHUNK..((c + 1) * CHUNK).min(batch))
}

/// Partial sums over chunks of `batch` images, each from `partial` on the chunk's images
/// (computed in parallel), added in chunk order: a reduction whose order depends on the batch
/// only. All partials must have the same length.
pub fn sum_over_chunks<T>(batch: usize, partial: impl Fn(Range<usize>) -> Vec<T> + Sync) -> Vec<T>
where
    T: Copy + Send + std::ops::AddAssign,
{
    sum_over_chunks_writing(batch, &mut [], |images, _| partial(images))
}

/// [`sum_over_chunks`], where `partial` also writes the chunk's images of `out` (`batch`
/// images of `out.len() / batch` values; an empty `out` gives every chunk an empty slice).
pub fn sum_over_chunks_writing<T>(
    batch: usize,
    out: &mut [f32],
    partial: impl Fn(Range<usize>, &mut [f32]) -> Vec<T> + Sync,
) -> Vec<T>
where
    T: Copy + Send + std::ops::AddAssign,
{
    use rayon::prelude::*;
    let per_image = out.len().checked_div(batch).unwrap_or(0);
    let mut parts: Vec<&mut [f32]> = Vec::with_capacity(batch.div_ceil(CHUNK));
    let mut rest = out;
    for images in chunks(batch) {
        let (head, tail) = rest.split_at_mut(images.len() * per_image);
        parts.push(head);
        rest = tail;
    }
    let sums: Vec<Vec<T>> = chunks(batch)
        .zip(parts)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(images, out)| partial(images, out))
        .collect();
    let mut sums = sums.into_iter();
    let mut sum = sums.next().unwrap_or_default();
    for part in sums {
        for (s, p) in sum.iter_mut().zip(part) {
            *s += p;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_batch_in_order() {
        let all: Vec<Range<usize>> = chunks(10).collect();
        assert_eq!(all, vec![0..4, 4..8, 8..10]);
        assert_eq!(chunks(0).count(), 0);
        let sums = sum_over_chunks(10, |r| vec![r.len() as u32, r.start as u32]);
        assert_eq!(sums, vec![10, 12]);
    }

    #[test]
    fn sizes() {
        let s = Shape::new(3, 2, 4, 5);
        assert_eq!((s.cells(), s.image(), s.len()), (20, 40, 120));
        assert_eq!(s.with_channels(7).image(), 140);
    }
}
