//! A 2D convolution of stride 1 whose output has the input's grid: kernel 3×3 (one cell of
//! zero or periodic padding) or 1×1, `inputs → outputs` channels, with a bias.
//!
//! Weight `(outputs, inputs, k, k)` row-major (PyTorch's layout), bias `(outputs,)`. Per image:
//! the input as a `(inputs·k²) × cells` matrix ([`super::im2col`]; for 1×1 the image itself),
//! in a buffer each thread keeps; the output `Y = W · cols + b` by one
//! product; in parallel over images. Backward, per image: `dW += dY · colsᵀ`, `db += Σ dY`
//! over cells, `dcols = Wᵀ · dY` then col2im for the input cotangent. `dW` and `db` are summed
//! over chunks of images ([`super::shape::sum_over_chunks_writing`]): per chunk in image
//! order, then chunk by chunk, an order set by the batch alone, so the results are the same
//! bits on any number of threads.

use super::im2col::{col2im, im2col, KERNEL};
use super::shape::{sum_over_chunks_writing, Padding, Shape};
use crate::net::product::{product, Write};
use rayon::prelude::*;
use std::cell::RefCell;

thread_local! {
    /// The column matrix and its cotangent of the image this thread is working on, kept from
    /// image to image and call to call: a new 2.4 MB buffer per rayon task (16 channels on
    /// 64 × 64) cost more page faults than the products took.
    static BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's two buffers (`f` must not start parallel work: it would find
/// them borrowed).
fn with_buffers<R>(f: impl FnOnce(&mut Vec<f32>, &mut Vec<f32>) -> R) -> R {
    BUFFERS.with(|b| {
        let (cols, dcols) = &mut *b.borrow_mut();
        f(cols, dcols)
    })
}

/// The shape of a convolution layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// Input channels.
    pub inputs: usize,
    /// Output channels.
    pub outputs: usize,
    /// Side of the kernel: 3 or 1.
    pub kernel: usize,
    /// What the 3×3 kernel reads beyond the edges (no effect on 1×1).
    pub padding: Padding,
}

/// The parameter gradient of a convolution: weight `(outputs, inputs, k, k)`, bias
/// `(outputs,)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvGrads {
    /// `∂/∂W`, `(outputs, inputs, k, k)` row-major.
    pub weight: Vec<f32>,
    /// `∂/∂b`, `(outputs,)`.
    pub bias: Vec<f32>,
}

impl Conv2d {
    /// A `kernel × kernel` convolution from `inputs` to `outputs` channels.
    ///
    /// # Panics
    /// If `kernel` is neither 1 nor 3.
    pub fn new(inputs: usize, outputs: usize, kernel: usize, padding: Padding) -> Conv2d {
        assert!(kernel == 1 || kernel == KERNEL, "kernel {kernel}: 1 or 3");
        Conv2d {
            inputs,
            outputs,
            kernel,
            padding,
        }
    }

    /// Rows of the column matrix, `inputs · k²` (a weight row's length).
    pub fn columns(&self) -> usize {
        self.inputs * self.kernel * self.kernel
    }

    /// Weight values, `outputs · inputs · k²`.
    pub fn weights(&self) -> usize {
        self.outputs * self.columns()
    }

    /// Multiply-adds of the forward pass over `shape` (each backward product has as many).
    pub fn multiply_adds(&self, shape: Shape) -> u64 {
        (shape.batch * shape.cells()) as u64 * (self.outputs * self.columns()) as u64
    }

    /// The column matrix of one image: the image itself for 1×1, else written into `buffer`.
    fn cols<'a>(
        &self,
        image: &'a [f32],
        grid: (usize, usize),
        buffer: &'a mut Vec<f32>,
    ) -> &'a [f32] {
        if self.kernel == 1 {
            return image;
        }
        buffer.resize(image.len() * KERNEL * KERNEL, 0.0);
        im2col(image, grid, self.padding, buffer);
        buffer
    }

    /// `y = conv(x) + b` for `x` of `shape` (`inputs` channels) into `y` (`outputs` channels,
    /// same grid), in parallel over images.
    ///
    /// # Panics
    /// If the lengths do not match the shapes.
    pub fn forward(&self, x: &[f32], shape: Shape, weight: &[f32], bias: &[f32], y: &mut [f32]) {
        self.check(x, shape, weight, bias);
        let out = shape.with_channels(self.outputs);
        assert_eq!(y.len(), out.len(), "convolution output length");
        if out.is_empty() {
            return;
        }
        let (cells, k) = (shape.cells(), self.columns());
        y.par_chunks_mut(out.image())
            .zip(x.par_chunks(shape.image()))
            .for_each(|(yi, xi)| {
                with_buffers(|buffer, _| {
                    let cols = self.cols(xi, (shape.ny, shape.nx), buffer);
                    for (row, b) in yi.chunks_exact_mut(cells).zip(bias) {
                        row.fill(*b);
                    }
                    product(
                        (self.outputs, k, cells),
                        (yi, [cells, 1]),
                        (weight, [k, 1]),
                        (cols, [cells, 1]),
                        Write::SERIAL_ADD,
                    );
                })
            });
    }

    /// The parameter gradient of `Σ dy ⊙ conv(x)` and, into `dx` unless it is empty, the
    /// input cotangent (overwritten), for `x` of `shape` and `dy` of `outputs` channels.
    ///
    /// # Panics
    /// If the lengths do not match the shapes.
    pub fn backward(
        &self,
        x: &[f32],
        shape: Shape,
        weight: &[f32],
        dy: &[f32],
        dx: &mut [f32],
    ) -> ConvGrads {
        let out = shape.with_channels(self.outputs);
        assert_eq!(x.len(), shape.len(), "convolution input length");
        assert_eq!(dy.len(), out.len(), "convolution cotangent length");
        assert!(
            dx.is_empty() || dx.len() == x.len(),
            "input cotangent length"
        );
        let (cells, k, weights) = (shape.cells(), self.columns(), self.weights());
        let mut sums = sum_over_chunks_writing(shape.batch, dx, |images, dx| {
            let mut partial = vec![0.0f32; weights + self.outputs];
            with_buffers(|cols_buffer, dcols| {
                for (i, b) in images.enumerate() {
                    let xi = &x[b * shape.image()..][..shape.image()];
                    let dyi = &dy[b * out.image()..][..out.image()];
                    let cols = self.cols(xi, (shape.ny, shape.nx), cols_buffer);
                    let (dw, db) = partial.split_at_mut(weights);
                    product(
                        (self.outputs, cells, k),
                        (dw, [k, 1]),
                        (dyi, [cells, 1]),
                        (cols, [1, cells]),
                        Write::SERIAL_ADD,
                    );
                    for (s, row) in db.iter_mut().zip(dyi.chunks_exact(cells)) {
                        *s += row.iter().sum::<f32>();
                    }
                    if !dx.is_empty() {
                        let dxi = &mut dx[i * shape.image()..][..shape.image()];
                        self.input_cotangent(weight, dyi, (shape.ny, shape.nx), dcols, dxi);
                    }
                }
            });
            partial
        });
        let bias = sums.split_off(weights);
        if sums.is_empty() {
            sums = vec![0.0; weights];
        }
        ConvGrads {
            weight: sums,
            bias: if bias.is_empty() {
                vec![0.0; self.outputs]
            } else {
                bias
            },
        }
    }

    /// `dx = Wᵀ · dy` (1×1), else `dcols = Wᵀ · dy` added back onto the zeroed `dx` by
    /// col2im, for one image.
    fn input_cotangent(
        &self,
        weight: &[f32],
        dy: &[f32],
        grid: (usize, usize),
        dcols: &mut Vec<f32>,
        dx: &mut [f32],
    ) {
        let (cells, k) = (grid.0 * grid.1, self.columns());
        let wt = (weight, [1, k]);
        if self.kernel == 1 {
            let dst = (dx, [cells, 1]);
            return product(
                (k, self.outputs, cells),
                dst,
                wt,
                (dy, [cells, 1]),
                Write::SERIAL,
            );
        }
        dcols.resize(k * cells, 0.0);
        let dst = (&mut dcols[..], [cells, 1]);
        product(
            (k, self.outputs, cells),
            dst,
            wt,
            (dy, [cells, 1]),
            Write::SERIAL,
        );
        dx.fill(0.0);
        col2im(dcols, grid, self.padding, dx);
    }

    fn check(&self, x: &[f32], shape: Shape, weight: &[f32], bias: &[f32]) {
        assert_eq!(shape.channels, self.inputs, "convolution input channels");
        assert_eq!(x.len(), shape.len(), "convolution input length");
        assert_eq!(weight.len(), self.weights(), "convolution weight length");
        assert_eq!(bias.len(), self.outputs, "convolution bias length");
    }
}
