//! Convolutional layers on grids, the building blocks of the grid network kinds: runtime-shaped,
//! `f32`, on plain buffers of `batch × channels × ny × nx` values ([`Shape`]), written on the
//! `gemm` crate's products (`net::product`) without dfdx.
//!
//! - `shape.rs`: [`Shape`], [`Padding`], and the fixed chunks of images that every sum over
//!   a batch runs in, so that results are the same bits on any number of threads;
//! - `im2col.rs`: a 3×3 kernel's column matrix and its transpose;
//! - `conv2d.rs`: [`Conv2d`], 3×3 and 1×1 convolutions of stride 1, forward and backward;
//! - `pool.rs`: 2×2 max-pooling; `upsample.rs`: bilinear up-sampling by 2;
//!   `concat.rs`: channel concatenation (skip connections);
//! - `batch_norm.rs`: batch normalisation with batch or fixed statistics, running averages.
//!
//! Every forward pass runs in parallel over images; every backward pass returns the exact
//! derivative of its forward pass (central differences in the tests) and sums over images in
//! an order set by the batch alone.

pub mod batch_norm;
pub mod concat;
pub mod conv2d;
pub mod im2col;
pub mod pool;
pub mod shape;
pub mod upsample;

#[cfg(test)]
mod checks;

pub use conv2d::{Conv2d, ConvGrads};
pub use shape::{Padding, Shape};
