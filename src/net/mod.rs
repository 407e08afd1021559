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
//! - [`io`]: [`Mlp::save`] / [`Mlp::load`], exact and atomic.
//! - [`enable_flush_to_zero`]: avoids subnormal slow-downs in long training runs.
//!
//! Determinism: initialisation uses ChaCha8 from a seed, and all kernels used give the same
//! bits for any rayon thread count (dfdx only parallelises large matrix products, over output
//! blocks).

pub mod ftz;
pub mod grads;
pub mod io;
pub mod mlp;
pub mod optim;

pub use ftz::enable_flush_to_zero;
pub use grads::ParamGrads;
pub use mlp::{Activation, Mlp, MlpConfig};
pub use optim::{Optimizer, OptimizerConfig};
