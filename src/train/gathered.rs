//! Update rules that need the whole batch at once — half-inverse gradients' and Gauss-Newton's
//! single SVD of the batch's residual Jacobian — split over the ranks of a data-parallel run
//! by gathering: each rank computes the part of its own episodes (their residuals and Jacobian
//! columns, the costly part), every rank gathers all parts in rank order
//! ([`crate::processes::ProcessGroup::gather_f64`]), and each applies the same whole-batch
//! step. The parts are self-delimiting (a rule packs whole rows), so the gathered batch is the
//! one process's batch, row for row, and the step the same.
//!
//! What it costs: the gather moves the whole Jacobian (`rows × parameters` values) to every
//! rank, and every rank repeats the SVD, so only the Jacobian's computation is split.

use super::{Context, Update};
use crate::episode::Rollout;
use crate::net::Network;
use crate::sim::Scene;

/// A rule whose whole-batch step is computed from per-rank parts.
pub trait Gathered: Send + Sync {
    /// This rank's part for its `scenes` and their `rollout`, packed so that parts
    /// concatenated in rank order are the part of all episodes in order.
    ///
    /// # Errors
    /// Those of computing the part (a simulator without the capability the rule needs).
    fn part(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Vec<f64>>;

    /// The update from every rank's parts concatenated in rank order, for a batch of `batch`
    /// episodes.
    ///
    /// # Errors
    /// Those of the step (a failed SVD).
    fn combine(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        parts: Vec<f64>,
        batch: usize,
    ) -> crate::Result<Update>;
}
