//! The neural network: a multilayer perceptron, its gradients, optimizers and file format.
//!
//! This is the only module that uses dfdx. Everything crossing its boundary is plain Rust or
//! nalgebra: batches are `(features × batch)` [`nalgebra::DMatrix<f64>`] (one column per
//! sample), converted to `f32` row-major `(batch, features)` tensors here and back.
//!
//! - [`mlp`]: [`Mlp`] (runtime-shaped layers), [`MlpConfig`], [`Activation`]; forward pass and
//!   vector–Jacobian products for parameters ([`Mlp::backward`]) and inputs
//!   ([`Mlp::backward_with_input`]).
//! - [`grads`]: [`ParamGrads`], the parameter gradient (flat order documented on [`Mlp`]).
//! - [`optim`]: [`OptimizerConfig`] (Adam, SGD, RMSprop, Adagrad, Adadelta) and [`Optimizer`]
//!   with global-norm clipping and checkpointable state.
//! - [`jacobian`]: [`Linearisation`], rows of the parameter Jacobian one per output cotangent
//!   (for half-inverse gradients and Gauss-Newton).
//! - [`network`]: [`Network`], what update rules, rollouts and evaluations see of a network
//!   (implemented by [`Mlp`]).
//! - [`sequence`]: [`BackwardSequence`], a backward pass over a closed-loop episode's steps
//!   (input cotangents at once, the parameter gradient over all the steps at the end).
//! - [`io`]: [`Mlp::save`] / [`Mlp::load`], exact and atomic.
//! - [`enable_flush_to_zero`]: avoids subnormal slow-downs in long training runs.
//!
//! ```
//! use nalgebra::DMatrix;
//! use physinv::net::{Mlp, MlpConfig, Optimizer, OptimizerConfig};
//!
//! let config: MlpConfig = ron::from_str(
//!     "(inputs: 2, hidden: [16], outputs: 1, activation: tanh, output_activation: identity)",
//! )?;
//! let mut net = Mlp::new(&config, 0)?;
//! let adam: OptimizerConfig = ron::from_str("Adam(lr: 1e-2)")?;
//! let mut opt = Optimizer::new(&adam, Some(1.0), &net);
//! let x = DMatrix::from_column_slice(2, 3, &[0.0, 1.0, 1.0, 0.0, 0.5, 0.5]); // 3 samples
//! let target = DMatrix::from_row_slice(1, 3, &[1.0, -1.0, 0.0]);
//! for _ in 0..10 {
//!     // Loss ½‖f(x) − target‖²: its output cotangent is f(x) − target.
//!     let cotangent = net.forward(&x) - &target;
//!     let grads = net.backward(&x, &cotangent);
//!     opt.step(&mut net, &grads);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Determinism: initialisation uses ChaCha8 from a seed, and all kernels used give the same
//! bits for any rayon thread count (dfdx only parallelises large matrix products, over output
//! blocks).

pub mod ftz;
pub mod grads;
pub mod io;
pub mod jacobian;
pub mod mlp;
pub mod network;
pub mod optim;
mod passes;
pub mod sequence;
mod tanh;

pub use ftz::enable_flush_to_zero;
pub use grads::ParamGrads;
pub use jacobian::Linearisation;
pub use mlp::{Activation, Mlp, MlpConfig};
pub use network::Network;
pub use optim::{Optimizer, OptimizerConfig};
pub use sequence::{BackwardSequence, Summed};
