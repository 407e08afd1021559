//! Supervised regression on ground-truth controls: cotangent `u_t − u*_t` (loss
//! `Σ_t ½‖u_t − u*_t‖²`), available when the scenes carry reference controls.

use super::groups::{Grouped, Share};
use super::rules::{ensure, Problem, RuleSpec};
use super::{
    backward_control_cotangents, backward_cotangent_sum, Context, Update, UpdateRule, UpdateStats,
};
use crate::episode::{CotangentUnits, Rollout};
use crate::net::Network;
use crate::sim::ParamError;
use crate::sim::{Scene, Vector};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The supervised update rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Supervised;

impl Supervised {
    /// The cotangents `u_t − u*_t` of `scenes` and their `rollout`, or the error that a scene
    /// has no reference controls.
    fn cotangents(scenes: &[Scene], rollout: &Rollout) -> crate::Result<Vec<Vec<Vector>>> {
        scenes
            .iter()
            .zip(&rollout.controls)
            .map(|(scene, controls)| {
                let reference = scene
                    .reference_controls
                    .as_ref()
                    .ok_or(crate::Error::NoReferenceControls)?;
                Ok(controls
                    .iter()
                    .zip(reference.iter())
                    .map(|(u, r)| u - r)
                    .collect())
            })
            .collect()
    }
}

impl UpdateRule for Supervised {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update> {
        let cotangents = Self::cotangents(scenes, rollout)?;
        Ok(Update {
            grads: backward_control_cotangents(ctx, net, rollout, &cotangents),
            stats: UpdateStats::default(),
            diagnostics: Default::default(),
        })
    }

    fn grouped(&self) -> Option<&dyn Grouped> {
        Some(self)
    }
}

/// The regression is a mean over episodes, formed in one group (one stacked backward pass over
/// the batch, as [`UpdateRule::update`] forms it, so one process gets the same bits) and split
/// over the ranks of a data-parallel run like the other additive rules.
impl Grouped for Supervised {
    fn group_size(&self, _ctx: &Context<'_>) -> usize {
        usize::MAX
    }

    fn share(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
        range: Range<usize>,
    ) -> crate::Result<Share> {
        let part = rollout.part(range.clone());
        let cotangents = Self::cotangents(&scenes[range], &part)?;
        Ok(Share {
            grads: backward_cotangent_sum(ctx, net, &part, &cotangents, CotangentUnits::Control),
            stats: UpdateStats::default(),
            diagnostics: Default::default(),
        })
    }
}

/// `update: Supervised`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct SupervisedSpec;

impl RuleSpec for SupervisedSpec {
    fn check(&self, problem: &Problem<'_>) -> Result<(), ParamError> {
        ensure(
            problem.reference_controls,
            "",
            "supervised training needs ground-truth controls: use target ReachedBy(…) or a scene generator",
        )
    }

    fn build(&self, _ctx: &Context<'_>) -> Box<dyn UpdateRule> {
        Box::new(Supervised)
    }
}
