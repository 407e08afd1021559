//! (being written)
use super::Registry;
/// Registers this module's simulators.
pub fn register(_registry: &mut Registry) {}
