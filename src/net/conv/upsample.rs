//! Bilinear up-sampling by 2 along both axes, `(ny, nx) → (2ny, 2nx)`, the U-Net's way up:
//! output cell `o` along an axis of `n` cells sits at input coordinate `o/2 − 1/4`, so it is
//! `¾` of input cell `⌊o/2⌋` and `¼` of its neighbour on that side — PyTorch's
//! `Upsample(scale_factor=2, mode='bilinear', align_corners=False)`. Beyond the edge the
//! neighbour is the edge cell itself on a bounded grid (as PyTorch clamps), the opposite edge
//! cell on a periodic one. The map is linear; its backward pass is the transpose, each input
//! cell's contributions added in output order.

use super::shape::{Padding, Shape};
use rayon::prelude::*;

/// The two input cells and weights of output cell `o` along an axis of `n` input cells.
fn taps(o: usize, n: usize, padding: Padding) -> [(usize, f32); 2] {
    let i = o / 2;
    let neighbour = match (o % 2, padding) {
        (0, Padding::Zero) => i.saturating_sub(1),
        (0, Padding::Periodic) => (i + n - 1) % n,
        (_, Padding::Zero) => (i + 1).min(n - 1),
        (_, Padding::Periodic) => (i + 1) % n,
    };
    [(i, 0.75), (neighbour, 0.25)]
}

/// The up-sampled grid of `shape`.
pub fn upsampled(shape: Shape) -> Shape {
    shape.with_grid(2 * shape.ny, 2 * shape.nx)
}

/// `y` = `x` (of `shape`) up-sampled by 2, in parallel over images.
pub fn upsample(x: &[f32], shape: Shape, padding: Padding, y: &mut [f32]) {
    let out = upsampled(shape);
    assert_eq!(
        (x.len(), y.len()),
        (shape.len(), out.len()),
        "up-sampling lengths"
    );
    if out.is_empty() {
        return;
    }
    y.par_chunks_mut(out.image())
        .zip(x.par_chunks(shape.image()))
        .for_each(|(yi, xi)| {
            for (o, v) in yi.iter_mut().enumerate() {
                let (c, cell) = (o / out.cells(), o % out.cells());
                let channel = &xi[c * shape.cells()..][..shape.cells()];
                *v = 0.0;
                for (iy, wy) in taps(cell / out.nx, shape.ny, padding) {
                    for (ix, wx) in taps(cell % out.nx, shape.nx, padding) {
                        *v += wy * wx * channel[iy * shape.nx + ix];
                    }
                }
            }
        });
}

/// The input cotangent of [`upsample`] (of `shape`'s input) for the output cotangent `dy`
/// (overwrites `dx`).
pub fn upsample_backward(dy: &[f32], shape: Shape, padding: Padding, dx: &mut [f32]) {
    let out = upsampled(shape);
    assert_eq!(
        (dx.len(), dy.len()),
        (shape.len(), out.len()),
        "up-sampling lengths"
    );
    if out.is_empty() {
        return;
    }
    dx.par_chunks_mut(shape.image())
        .zip(dy.par_chunks(out.image()))
        .for_each(|(dxi, dyi)| {
            dxi.fill(0.0);
            for (o, g) in dyi.iter().enumerate() {
                let (c, cell) = (o / out.cells(), o % out.cells());
                let channel = &mut dxi[c * shape.cells()..][..shape.cells()];
                for (iy, wy) in taps(cell / out.nx, shape.ny, padding) {
                    for (ix, wx) in taps(cell % out.nx, shape.nx, padding) {
                        channel[iy * shape.nx + ix] += wy * wx * g;
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A constant stays constant, and a bounded grid's interpolation is PyTorch's on a 1×2
    /// example: `[a, b] → [a, ¾a + ¼b, ¼a + ¾b, b]`.
    #[test]
    fn interpolates_like_pytorch() {
        let shape = Shape::new(1, 1, 1, 2);
        let mut y = vec![0.0; 8];
        upsample(&[4.0, 8.0], shape, Padding::Zero, &mut y);
        assert_eq!(&y[..4], &[4.0, 5.0, 7.0, 8.0]);
        assert_eq!(&y[4..], &[4.0, 5.0, 7.0, 8.0]);
        upsample(&[4.0, 8.0], shape, Padding::Periodic, &mut y);
        assert_eq!(&y[..4], &[5.0, 5.0, 7.0, 7.0]);
    }
}
