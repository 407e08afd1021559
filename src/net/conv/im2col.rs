//! im2col and col2im for a 3×3 convolution of stride 1 with one cell of padding: the nine
//! shifted copies of every input channel as the rows of a `(channels·9) × (ny·nx)` matrix, so
//! that the convolution of an image is one matrix product, and the transpose, which adds such
//! a matrix back onto the image (the input cotangent).
//!
//! Row `(c·3 + ky)·3 + kx` holds channel `c` shifted by `(ky − 1, kx − 1)`: cell `(y, x)` of
//! the row is input cell `(y + ky − 1, x + kx − 1)`, zero beyond the edges with
//! [`Padding::Zero`], from the opposite edge with [`Padding::Periodic`]. The order of the
//! rows is the order of a PyTorch weight `(out, in, 3, 3)`'s columns. Each row is a few
//! contiguous copies (the interior) and one edge cell per grid row.

use super::shape::Padding;
use std::ops::Range;

/// Side of the kernel these functions handle.
pub const KERNEL: usize = 3;

/// A row of `n` cells shifted by `offset` ∈ {−1, 0, 1}: `dst[dst] = src[src]` for the
/// interior, and the cell `edge.0` that lies beyond the edge, whose periodic source is
/// `edge.1`.
struct Shift {
    dst: Range<usize>,
    src: Range<usize>,
    edge: Option<(usize, usize)>,
}

fn shift(n: usize, offset: isize) -> Shift {
    match offset {
        -1 => Shift {
            dst: 1.min(n)..n,
            src: 0..n.saturating_sub(1),
            edge: Some((0, n - 1)),
        },
        1 => Shift {
            dst: 0..n.saturating_sub(1),
            src: 1.min(n)..n,
            edge: Some((n - 1, 0)),
        },
        _ => Shift {
            dst: 0..n,
            src: 0..n,
            edge: None,
        },
    }
}

/// The source row of output row `y` shifted by `offset` on `n` rows: `None` beyond the edge
/// with zero padding.
fn source_row(y: usize, offset: isize, n: usize, padding: Padding) -> Option<usize> {
    let s = y as isize + offset;
    if (0..n as isize).contains(&s) {
        Some(s as usize)
    } else {
        match padding {
            Padding::Zero => None,
            Padding::Periodic => Some(s.rem_euclid(n as isize) as usize),
        }
    }
}

/// The kernel offsets of row `r % 9` of the matrix: `(ky − 1, kx − 1)`.
fn offsets(r: usize) -> (isize, isize) {
    let k = r % (KERNEL * KERNEL);
    ((k / KERNEL) as isize - 1, (k % KERNEL) as isize - 1)
}

/// Writes the `(channels·9) × (ny·nx)` matrix of `image` (`channels × ny × nx`) into `cols`.
///
/// # Panics
/// If the slices' lengths do not match the shape.
pub fn im2col(image: &[f32], (ny, nx): (usize, usize), padding: Padding, cols: &mut [f32]) {
    let cells = ny * nx;
    assert_eq!(cols.len(), image.len() * KERNEL * KERNEL, "im2col sizes");
    for (r, row) in cols.chunks_exact_mut(cells).enumerate() {
        let channel = &image[r / (KERNEL * KERNEL) * cells..][..cells];
        let (oy, ox) = offsets(r);
        let sh = shift(nx, ox);
        for (y, dst) in row.chunks_exact_mut(nx).enumerate() {
            let Some(sy) = source_row(y, oy, ny, padding) else {
                dst.fill(0.0);
                continue;
            };
            let src = &channel[sy * nx..][..nx];
            dst[sh.dst.clone()].copy_from_slice(&src[sh.src.clone()]);
            if let Some((d, s)) = sh.edge {
                dst[d] = match padding {
                    Padding::Zero => 0.0,
                    Padding::Periodic => src[s],
                };
            }
        }
    }
}

/// Adds the `(channels·9) × (ny·nx)` matrix `cols` back onto `image` (`channels × ny × nx`):
/// the transpose of [`im2col`], each cell's contributions added in row order.
///
/// # Panics
/// If the slices' lengths do not match the shape.
pub fn col2im(cols: &[f32], (ny, nx): (usize, usize), padding: Padding, image: &mut [f32]) {
    let cells = ny * nx;
    assert_eq!(cols.len(), image.len() * KERNEL * KERNEL, "col2im sizes");
    for (r, row) in cols.chunks_exact(cells).enumerate() {
        let channel = &mut image[r / (KERNEL * KERNEL) * cells..][..cells];
        let (oy, ox) = offsets(r);
        let sh = shift(nx, ox);
        for (y, src) in row.chunks_exact(nx).enumerate() {
            let Some(sy) = source_row(y, oy, ny, padding) else {
                continue;
            };
            let dst = &mut channel[sy * nx..][..nx];
            for (d, s) in dst[sh.src.clone()].iter_mut().zip(&src[sh.dst.clone()]) {
                *d += *s;
            }
            if let (Some((d, s)), Padding::Periodic) = (sh.edge, padding) {
                dst[s] += src[d];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry of the matrix is the input cell the definition names, for both paddings
    /// and grids down to one row or one column.
    #[test]
    fn im2col_matches_the_definition() {
        for (channels, ny, nx) in [(2, 3, 4), (1, 1, 5), (1, 4, 1), (3, 2, 2)] {
            let image: Vec<f32> = (0..channels * ny * nx).map(|i| i as f32 + 1.0).collect();
            for padding in [Padding::Zero, Padding::Periodic] {
                let mut cols = vec![f32::NAN; image.len() * 9];
                im2col(&image, (ny, nx), padding, &mut cols);
                for (i, v) in cols.iter().enumerate() {
                    let (r, cell) = (i / (ny * nx), i % (ny * nx));
                    let (c, (oy, ox)) = (r / 9, offsets(r));
                    let (y, x) = ((cell / nx) as isize + oy, (cell % nx) as isize + ox);
                    let inside = (0..ny as isize).contains(&y) && (0..nx as isize).contains(&x);
                    let expected = match (inside, padding) {
                        (false, Padding::Zero) => 0.0,
                        _ => {
                            let (y, x) = (y.rem_euclid(ny as isize), x.rem_euclid(nx as isize));
                            image[c * ny * nx + y as usize * nx + x as usize]
                        }
                    };
                    assert_eq!(*v, expected, "{channels}×{ny}×{nx} {padding:?} entry {i}");
                }
            }
        }
    }

    /// `⟨im2col(a), b⟩ = ⟨a, col2im(b)⟩`: col2im is the transpose (exact on small integers).
    #[test]
    fn col2im_is_the_transpose() {
        for (channels, ny, nx) in [(2, 3, 4), (1, 1, 5), (1, 4, 1)] {
            let n = channels * ny * nx;
            let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..9 * n).map(|i| (i % 5) as f32 - 2.0).collect();
            for padding in [Padding::Zero, Padding::Periodic] {
                let mut cols = vec![0.0; 9 * n];
                im2col(&a, (ny, nx), padding, &mut cols);
                let mut back = vec![0.0; n];
                col2im(&b, (ny, nx), padding, &mut back);
                let lhs: f32 = cols.iter().zip(&b).map(|(x, y)| x * y).sum();
                let rhs: f32 = a.iter().zip(&back).map(|(x, y)| x * y).sum();
                assert_eq!(lhs, rhs, "{channels}×{ny}×{nx} {padding:?}");
            }
        }
    }
}
