//! Additive updates in groups of episodes.
//!
//! The updates of SIP and back-propagation through time are means over episodes: an episode's
//! proxy or adjoint contributes its own parameter gradient, independent of the others. Such a
//! rule runs its whole per-episode pipeline — inversion or adjoint sweep, the network passes,
//! the backward pass — on groups of episodes in parallel and sums the groups' gradients in
//! order. A group is sized by the problem alone ([`episodes_per_group`]), never by the thread
//! count, so the result does not depend on the threads either; and it is large enough that the
//! group's network passes keep the products efficient ([`crate::pool::MIN_ROWS_PER_PASS`] rows).
//!
//! Measured: a Burgers SIP iteration's network stage (the proxy forward and backward over 32
//! episodes × 32 steps) ran on one core in one pass; in two groups of 16 episodes it runs on
//! both, each group's products as fast per row as the single pass (`cargo bench --bench
//! network`: 512 against 1024 rows), and two threads against one went from 1.50–1.53× to
//! 1.63–1.72× (`cargo bench --bench threads -- 3 2 burgers`, two runs each, AVX2 machine).
//!
//! A rule opens this structure through [`Grouped`] (its group size, a group's [`Share`], and
//! how shares combine), and training then runs each group's rollout with its share in one task
//! ([`rollout_and_update`]): one fork per batch instead of two, nothing merged or copied in
//! between. Measured on the AVX-512 machine (same bench, one run each, right after the change):
//! Burgers SIP 1.79 → 1.86×, SIP-chain 1.79 → 1.89×, BPTT 1.62 → 1.73×; with open-loop groups
//! of rollout chunks, the oscillators (one group of 256 episodes before) SIP 0.96 → 1.64×, BPTT
//! 0.95 → 1.44×. A share is also the unit a data-parallel run over several
//! machines would reduce (in group order, so the result stays independent of the layout).

use super::{Context, Update, UpdateStats};
use crate::episode::{rollout_chunk, rollout_part, Rollout};
use crate::net::{Network, ParamGrads};
use crate::pool::{episodes_per_task, MIN_ROWS_PER_PASS};
use crate::processes::ProcessGroup;
use crate::sim::Scene;
use crate::values::NamedValues;
use rayon::prelude::*;
use std::ops::Range;

/// One group's share of a [`Grouped`] update.
#[derive(Debug, Clone)]
pub struct Share {
    /// The parameter gradient summed over the group's episodes.
    pub grads: ParamGrads,
    /// The group's counters.
    pub stats: UpdateStats,
    /// What the rule's [`Grouped::merge_diagnostics`] and [`Grouped::finish_diagnostics`] need of the group for the update's diagnostics
    /// (sums, extremes, counts: the rule's own names).
    pub diagnostics: NamedValues,
}

/// An update rule whose update is the mean over the episodes of independent contributions
/// (SIP's proxy of each episode, the adjoint sweep of each): it is formed in groups of
/// episodes, each group's [`Share`] on its own, then combined in group order.
///
/// Training runs such a rule's groups with their rollouts ([`rollout_and_update`]): each
/// group's episodes are unrolled and their share formed in one task, so that a batch forks once
/// and a group's episodes stay in one core's caches.
pub trait Grouped: Send + Sync {
    /// Episodes per group for the problem `ctx`: its size alone, never the thread count.
    fn group_size(&self, ctx: &Context<'_>) -> usize;

    /// The share of episodes `range` of `scenes` and `rollout` (which hold the same episodes).
    ///
    /// # Errors
    /// As the rule's update.
    fn share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
        range: Range<usize>,
    ) -> crate::Result<Share>;

    /// The share of `scenes`, episodes `first..` of the batch, unrolled here: by default their
    /// rollout ([`rollout_part`]) and [`Grouped::share`] of all of it. A rule that keeps less
    /// of the rollout (BPTT with segment checkpointing) unrolls its own way.
    ///
    /// # Errors
    /// Those of the rollout and of the share.
    fn unrolled_share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        first: usize,
    ) -> crate::Result<Share> {
        unroll_and_share(self, ctx, net, scenes, first)
    }

    /// The partial diagnostics of two consecutive parts of a batch (`a` before `b`: groups,
    /// or the slices of several processes) as one. Must be associative, so that merging in any
    /// grouping of the same order gives the same result. Default: none kept.
    fn merge_diagnostics(&self, _a: NamedValues, _b: &NamedValues) -> NamedValues {
        NamedValues::default()
    }

    /// The update's diagnostics from the whole batch's merged partial diagnostics. Default:
    /// none.
    fn finish_diagnostics(&self, _total: NamedValues) -> NamedValues {
        NamedValues::default()
    }
}

/// The rollout of `scenes` (episodes `first..` of the batch, [`rollout_part`]) and `rule`'s
/// share of all of it: [`Grouped::unrolled_share`]'s default.
///
/// # Errors
/// Those of the rollout and of the share.
pub fn unroll_and_share<R: Grouped + ?Sized>(
    rule: &R,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    first: usize,
) -> crate::Result<Share> {
    let rollout = rollout_part(ctx.physics, ctx.policy, net, scenes, first)?;
    rule.share(ctx, net, scenes, &rollout, 0..scenes.len())
}

/// Shares `a` and `b` of consecutive parts of a batch as one: gradients and counters summed
/// (`a` first), diagnostics by [`Grouped::merge_diagnostics`].
pub fn merge(rule: &dyn Grouped, mut a: Share, b: Share) -> Share {
    a.grads.add_assign(&b.grads);
    a.stats += b.stats;
    a.diagnostics = rule.merge_diagnostics(a.diagnostics, &b.diagnostics);
    a
}

/// The shares of consecutive parts merged in order ([`merge`]).
///
/// # Panics
/// If `shares` is empty (every batch has at least one group, see [`ranges`]).
pub fn merged(rule: &dyn Grouped, shares: Vec<Share>) -> Share {
    let mut shares = shares.into_iter();
    let first = shares.next().expect("groups::merged: no shares");
    shares.fold(first, |total, share| merge(rule, total, share))
}

/// The update of a batch of `batch` episodes from its merged share: the mean gradient (the
/// sum scaled once by `1 / batch`), the counters, and [`Grouped::finish_diagnostics`].
pub fn finish(rule: &dyn Grouped, total: Share, batch: usize) -> Update {
    let mut grads = total.grads;
    grads.scale(1.0 / batch as f32);
    Update {
        grads,
        stats: total.stats,
        diagnostics: rule.finish_diagnostics(total.diagnostics),
    }
}

/// The merged share of a batch already unrolled: every group's share in parallel
/// ([`in_groups`]), merged in group order.
///
/// # Errors
/// The first group's error, in group order.
pub fn share(
    rule: &dyn Grouped,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    rollout: &Rollout,
) -> crate::Result<Share> {
    let shares = in_groups(scenes.len(), rule.group_size(ctx), |range| {
        rule.share(ctx, net, scenes, rollout, range)
    })?;
    Ok(merged(rule, shares))
}

/// The update of a [`Grouped`] rule for a batch already unrolled ([`share`], [`finish`]).
///
/// # Errors
/// The first group's error, in group order.
pub fn update(
    rule: &dyn Grouped,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    rollout: &Rollout,
) -> crate::Result<Update> {
    let total = share(rule, ctx, net, scenes, rollout)?;
    Ok(finish(rule, total, scenes.len()))
}

/// The rollout of `scenes` and the merged share of a [`Grouped`] rule together: in parallel,
/// each group's episodes are unrolled and their share formed in one task. The same numbers as
/// the rollout followed by [`share`], and offered only where that holds: groups made of whole
/// chunks of the rollout ([`rollout_chunk`]); `None` otherwise.
///
/// # Errors
/// The first group's error (of its rollout or its share), in group order.
pub fn rollout_and_share(
    rule: &dyn Grouped,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
) -> Option<crate::Result<Share>> {
    let size = rule.group_size(ctx);
    let chunk = rollout_chunk(ctx.physics.sim().state_dim(), ctx.policy.steps());
    if !size.is_multiple_of(chunk) {
        return None;
    }
    let shares = in_groups(scenes.len(), size, |range| {
        rule.unrolled_share(ctx, net, &scenes[range.clone()], range.start)
    });
    Some(shares.map(|shares| merged(rule, shares)))
}

/// [`rollout_and_share`] finished into the batch's update ([`finish`]).
///
/// # Errors
/// As [`rollout_and_share`].
pub fn rollout_and_update(
    rule: &dyn Grouped,
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
) -> Option<crate::Result<Update>> {
    rollout_and_share(rule, ctx, net, scenes)
        .map(|share| share.map(|share| finish(rule, share, scenes.len())))
}

/// The share of the whole batch on every rank of `processes`, from each rank's share of its
/// slice: gradients and counters summed in rank order ([`ProcessGroup::sum_f32`]), the
/// partial diagnostics gathered and merged in rank order. A single process's share is
/// returned as it is.
pub fn reduce(rule: &dyn Grouped, processes: &dyn ProcessGroup, mut share: Share) -> Share {
    if processes.size() == 1 {
        return share;
    }
    // One sum for all tensors: each call is a collective operation with its latency.
    let mut flat = share.grads.to_vec();
    processes.sum_f32(&mut flat);
    let mut at = 0;
    for tensor in share.grads.tensors_mut() {
        tensor.copy_from_slice(&flat[at..at + tensor.len()]);
        at += tensor.len();
    }
    share.stats = share.stats.summed(processes);
    let mine = serde_json::to_vec(&share.diagnostics).expect("named values serialise");
    let mut total: Option<NamedValues> = None;
    for bytes in processes.gather_bytes(&mine) {
        let part: NamedValues = serde_json::from_slice(&bytes).expect("named values parse");
        total = Some(match total {
            None => part,
            Some(total) => rule.merge_diagnostics(total, &part),
        });
    }
    share.diagnostics = total.unwrap_or_default();
    share
}

/// Episodes per group of an additive update whose network passes have `rows_per_episode`
/// rows per episode (the steps of a closed-loop episode, 1 open loop) and whose per-episode
/// work is `work` state components × steps: enough rows for [`MIN_ROWS_PER_PASS`] and enough
/// work for a task ([`episodes_per_task`]).
pub fn episodes_per_group(rows_per_episode: usize, work: usize) -> usize {
    MIN_ROWS_PER_PASS
        .div_ceil(rows_per_episode.max(1))
        .max(episodes_per_task(work, 1))
}

/// `0..batch` in consecutive ranges of `size` episodes (the last one shorter); one empty range
/// for an empty batch.
pub fn ranges(batch: usize, size: usize) -> Vec<Range<usize>> {
    if batch == 0 {
        return std::iter::once(0..0).collect();
    }
    let size = size.max(1);
    (0..batch.div_ceil(size))
        .map(|g| g * size..((g + 1) * size).min(batch))
        .collect()
}

/// `f` on every group of `0..batch` (see [`ranges`]), in parallel; the results in group order,
/// or the first group's error.
///
/// # Errors
/// The first error of `f`, in group order.
pub fn in_groups<T: Send>(
    batch: usize,
    size: usize,
    f: impl Fn(Range<usize>) -> crate::Result<T> + Sync,
) -> crate::Result<Vec<T>> {
    let groups = ranges(batch, size);
    if groups.len() == 1 {
        return Ok(vec![f(groups[0].clone())?]);
    }
    let results: Vec<crate::Result<T>> = groups.into_par_iter().map(&f).collect();
    results.into_iter().collect()
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // expected groups, some of them one range
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_batch_in_order() {
        assert_eq!(ranges(32, 16), vec![0..16, 16..32]);
        assert_eq!(ranges(33, 16), vec![0..16, 16..32, 32..33]);
        assert_eq!(ranges(5, 16), vec![0..5]);
        assert_eq!(ranges(0, 16), vec![0..0]);
        assert_eq!(ranges(3, 0), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn groups_are_sized_by_rows_and_work() {
        // Burgers: 32 steps of 32 cells: 16 episodes give 512 rows.
        assert_eq!(episodes_per_group(32, 32 * 32), 16);
        // Open loop, one row per episode: the rows decide.
        assert_eq!(episodes_per_group(1, 4 * 24), MIN_ROWS_PER_PASS);
        // Long episodes: one per group.
        assert_eq!(episodes_per_group(1024, 8192), 1);
    }

    #[test]
    fn in_groups_keeps_order_and_reports_the_first_error() {
        let out = in_groups(40, 16, |r| Ok(r.start)).unwrap();
        assert_eq!(out, vec![0, 16, 32]);
        let err = in_groups(40, 16, |r| {
            if r.start > 0 {
                Err(crate::Error::NonFinite {
                    episode: r.start,
                    step: 0,
                })
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert!(matches!(err, crate::Error::NonFinite { episode: 16, .. }));
    }
}
