//! The network: the [`Network`] interface, the table of network kinds, their gradients,
//! optimizers and file format, and the kinds `Mlp` and `Linear`.
//!
//! This is the only module that uses dfdx. Everything crossing its boundary is plain Rust or
//! nalgebra: batches are `(features × batch)` [`nalgebra::DMatrix<f64>`] (one column per
//! sample), converted to `f32` here and back.
//!
//! - [`network`]: [`Network`], everything the trainer, optimizer, rules, rollouts, checkpoints
//!   and export see of a network (forward; backward from an output cotangent; input
//!   cotangents and [`BackwardSequence`] for closed-loop BPTT; [`JacobianRows`] for
//!   half-inverse gradients and Gauss-Newton; flat parameters; [`Architecture`]).
//! - [`table`]: network kinds as plug-ins: [`NetworkKind`] (a kind's parameter struct: check,
//!   size, build), [`Networks`] (the table), [`NetworkSpec`] (the scenario's `network:`),
//!   [`Architecture`] (kind, parameters and sizes of a built network).
//! - [`params`]: [`ParamTensor`], a flat parameter tensor (the optimizer's unit of state).
//! - [`ports`]: [`NetworkIo`], what a kind is built for: the input's and output's lengths and
//!   grids ([`Port`], [`GridShape`]).
//! - [`grads`]: [`ParamGrads`], the parameter gradient, one buffer per tensor.
//! - [`optim`]: [`OptimizerConfig`] (Adam, SGD, RMSprop, Adagrad, Adadelta) and [`Optimizer`]
//!   with global-norm clipping and checkpointable state, on any network's tensors.
//! - [`sequence`]: [`BackwardSequence`], a backward pass over a closed-loop episode's steps,
//!   and [`Summed`], the one every network has.
//! - [`io`]: [`io::save`] / [`io::load_into`], exact and atomic, for any kind.
//! - [`mlp`]: the kind `Mlp`: [`Mlp`], [`MlpConfig`], [`Activation`], [`mlp::MlpParams`].
//! - [`linear`]: the kind `Linear`, an affine policy `y = W x + b`.
//! - [`grid`]: the grid kinds `UNet` and `ResNet` (convolutional networks on a grid input and
//!   output, batch norm with running averages).
//! - [`conv`]: convolutional layers on grids (im2col on `gemm`, max-pool, bilinear
//!   up-sampling, skip concatenation, batch norm); `product.rs`: the one matrix product every
//!   pass is built from.
//! - [`enable_flush_to_zero`]: avoids subnormal slow-downs in long training runs.
//!
//! A new kind is a folder here (or a type in a user's crate) implementing [`Network`] and a
//! parameter struct implementing [`NetworkKind`], plus one registration
//! (`Registry::register_network`, or [`Networks::builtin`] for a built-in kind).
//!
//! ```
//! use nalgebra::DMatrix;
//! use physinv::net::{Network, NetworkIo, Networks, Optimizer, OptimizerConfig};
//!
//! let spec = Networks::builtin().parse("Mlp(hidden: [16], activation: tanh)")?;
//! let mut net = spec.build(&NetworkIo::flat(2, 1), 0)?; // 2 inputs, 1 output, seed 0
//! let adam: OptimizerConfig = ron::from_str("Adam(lr: 1e-2)")?;
//! let mut opt = Optimizer::new(&adam, Some(1.0), net.as_ref());
//! let x = DMatrix::from_column_slice(2, 3, &[0.0, 1.0, 1.0, 0.0, 0.5, 0.5]); // 3 samples
//! let target = DMatrix::from_row_slice(1, 3, &[1.0, -1.0, 0.0]);
//! for _ in 0..10 {
//!     // Loss ½‖f(x) − target‖²: its output cotangent is f(x) − target.
//!     let cotangent = net.forward(&x) - &target;
//!     let grads = net.backward(&x, &cotangent);
//!     opt.step(net.as_mut(), &grads);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Determinism: initialisation uses ChaCha8 from a seed, and all kernels used give the same
//! bits for any rayon thread count (dfdx only parallelises large matrix products, over output
//! blocks).

pub mod conv;
pub mod ftz;
pub mod grads;
pub mod grid;
pub mod io;
pub mod linear;
pub mod mlp;
pub mod network;
pub mod optim;
pub mod params;
pub mod ports;
pub(crate) mod product;
pub mod sequence;
pub mod table;

pub use ftz::enable_flush_to_zero;
pub use grads::ParamGrads;
pub use mlp::{Activation, Mlp, MlpConfig};
pub use network::{JacobianRows, Network};
pub use optim::{Optimizer, OptimizerConfig};
pub use params::ParamTensor;
pub use ports::{GridShape, NetworkIo, Port};
pub use sequence::{BackwardSequence, Summed};
pub use table::{Architecture, NetworkKind, NetworkSize, NetworkSpec, Networks};
