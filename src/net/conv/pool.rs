//! 2×2 max-pooling of stride 2: `(ny, nx) → (ny/2, nx/2)` per channel, the U-Net's way down.
//! The backward pass routes each output cotangent to the cell that gave the maximum (the
//! first of the four in row order on a tie), found again from the input.

use super::shape::Shape;
use rayon::prelude::*;

/// The offsets `(dy, dx)` of a window's cells, in the order ties are broken.
const WINDOW: [(usize, usize); 4] = [(0, 0), (0, 1), (1, 0), (1, 1)];

/// Index into the image of the maximum of the window of output cell `(y, x)` in a channel of
/// `nx` columns starting at `base`.
fn argmax(x: &[f32], base: usize, nx: usize, (y, x0): (usize, usize)) -> usize {
    let mut best = base + 2 * y * nx + 2 * x0;
    for (dy, dx) in WINDOW.into_iter().skip(1) {
        let i = base + (2 * y + dy) * nx + 2 * x0 + dx;
        if x[i] > x[best] {
            best = i;
        }
    }
    best
}

/// The pooled grid of `shape`.
///
/// # Panics
/// If `ny` or `nx` is odd.
pub fn pooled(shape: Shape) -> Shape {
    assert!(
        shape.ny.is_multiple_of(2) && shape.nx.is_multiple_of(2),
        "max-pool of an odd grid {}×{}",
        shape.ny,
        shape.nx
    );
    shape.with_grid(shape.ny / 2, shape.nx / 2)
}

/// `y` = the 2×2 maxima of `x` (of `shape`), in parallel over images.
pub fn max_pool(x: &[f32], shape: Shape, y: &mut [f32]) {
    let out = pooled(shape);
    assert_eq!(
        (x.len(), y.len()),
        (shape.len(), out.len()),
        "max-pool lengths"
    );
    if out.is_empty() {
        return;
    }
    y.par_chunks_mut(out.image())
        .zip(x.par_chunks(shape.image()))
        .for_each(|(yi, xi)| {
            for (o, v) in yi.iter_mut().enumerate() {
                let (c, cell) = (o / out.cells(), o % out.cells());
                let i = argmax(
                    xi,
                    c * shape.cells(),
                    shape.nx,
                    (cell / out.nx, cell % out.nx),
                );
                *v = xi[i];
            }
        });
}

/// The input cotangent of [`max_pool`] at `x` for the output cotangent `dy` (overwrites
/// `dx`).
pub fn max_pool_backward(x: &[f32], shape: Shape, dy: &[f32], dx: &mut [f32]) {
    let out = pooled(shape);
    assert_eq!(
        (x.len(), dy.len(), dx.len()),
        (shape.len(), out.len(), shape.len()),
        "max-pool lengths"
    );
    if out.is_empty() {
        return;
    }
    dx.par_chunks_mut(shape.image())
        .zip(x.par_chunks(shape.image()).zip(dy.par_chunks(out.image())))
        .for_each(|(dxi, (xi, dyi))| {
            dxi.fill(0.0);
            for (o, g) in dyi.iter().enumerate() {
                let (c, cell) = (o / out.cells(), o % out.cells());
                let i = argmax(
                    xi,
                    c * shape.cells(),
                    shape.nx,
                    (cell / out.nx, cell % out.nx),
                );
                dxi[i] = *g;
            }
        });
}
