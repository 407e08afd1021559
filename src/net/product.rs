//! One matrix product on the `gemm` crate's kernels, the unit every network pass is built
//! from (the MLP's layers, the convolutions' per-image products).
//!
//! A product splits over the output's rows and columns, never over the summed dimension, so
//! its result does not depend on the number of threads it runs on.

/// A row-major or transposed view of a matrix in a slice: `(row stride, column stride)`.
pub(crate) type Strides = [usize; 2];

/// How a product writes its output, and on how many threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Write {
    /// `dst += lhs·rhs` instead of `dst = lhs·rhs`.
    pub accumulate: bool,
    /// On the current rayon pool's threads, else on the calling thread only (a product
    /// inside a parallel loop over images).
    pub parallel: bool,
}

impl Write {
    /// `dst = lhs·rhs` on the pool's threads (the MLP's layer products).
    pub const PARALLEL: Write = Write {
        accumulate: false,
        parallel: true,
    };
    /// `dst = lhs·rhs` on the calling thread.
    pub const SERIAL: Write = Write {
        accumulate: false,
        parallel: false,
    };
    /// `dst += lhs·rhs` on the calling thread.
    pub const SERIAL_ADD: Write = Write {
        accumulate: true,
        parallel: false,
    };
}

/// `dst (m×n) = lhs (m×k) · rhs (k×n)` (or `+=`, [`Write`]) with the given strides: one call of
/// `gemm::gemm` (no conjugation; `alpha = 0` or `1` on the output, `beta = 1` on the product).
///
/// # Panics
/// If a slice is too short for its dimensions and strides.
pub(crate) fn product(
    (m, k, n): (usize, usize, usize),
    (dst, dst_strides): (&mut [f32], Strides),
    (lhs, lhs_strides): (&[f32], Strides),
    (rhs, rhs_strides): (&[f32], Strides),
    write: Write,
) {
    let extent = |rows: usize, cols: usize, s: Strides| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * s[0] + (cols - 1) * s[1] + 1
        }
    };
    assert!(
        dst.len() >= extent(m, n, dst_strides),
        "product output too short"
    );
    assert!(
        lhs.len() >= extent(m, k, lhs_strides),
        "product lhs too short"
    );
    assert!(
        rhs.len() >= extent(k, n, rhs_strides),
        "product rhs too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    let parallelism = if write.parallel {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three slices cover every element the strides address (asserted above), the
    // output does not alias the inputs (`&mut` against `&`), and the output is read only when
    // accumulating, where it is initialised (a `&mut [f32]`).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides[1] as isize,
            dst_strides[0] as isize,
            write.accumulate,
            lhs.as_ptr(),
            lhs_strides[1] as isize,
            lhs_strides[0] as isize,
            rhs.as_ptr(),
            rhs_strides[1] as isize,
            rhs_strides[0] as isize,
            if write.accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product and its accumulating form against the schoolbook sum, with a transposed view.
    #[test]
    fn product_and_accumulation_match_the_definition() {
        let (m, k, n) = (3, 4, 5);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 2.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| 1.0 - i as f32 * 0.25).collect();
        let expected: Vec<f32> = (0..m * n)
            .map(|i| (0..k).map(|p| a[i / n * k + p] * b[p * n + i % n]).sum())
            .collect();
        let mut c = vec![7.0; m * n];
        product(
            (m, k, n),
            (&mut c, [n, 1]),
            (&a, [k, 1]),
            (&b, [n, 1]),
            Write::SERIAL,
        );
        assert_eq!(c, expected);
        // bᵀ stored as (n, k) row-major is b seen with strides (1, k).
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        product(
            (m, k, n),
            (&mut c, [n, 1]),
            (&a, [k, 1]),
            (&bt, [1, k]),
            Write::SERIAL_ADD,
        );
        let doubled: Vec<f32> = expected.iter().map(|v| 2.0 * v).collect();
        assert_eq!(c, doubled);
    }
}
