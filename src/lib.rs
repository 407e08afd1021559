//! physinv: training neural-network controllers through physics simulators with
//! scale-invariant physics (SIP) updates.

#![warn(missing_docs)]

pub mod error;
pub mod inverse;
pub mod net;
pub mod sim;

pub use error::{Error, InverseError, Result, ScenarioError};
