//! Supervised regression on ground-truth controls: cotangent `u_t − u*_t` (loss
//! `Σ_t ½‖u_t − u*_t‖²`), available when the scenes carry reference controls.

use super::rules::{ensure, Problem, RuleSpec};
use super::{backward_control_cotangents, Context, Update, UpdateRule, UpdateStats};
use crate::episode::Rollout;
use crate::net::Network;
use crate::sim::ParamError;
use crate::sim::{Scene, Vector};
use serde::{Deserialize, Serialize};

/// The supervised update rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct Supervised;

impl UpdateRule for Supervised {
    fn update(
        &self,
        ctx: &Context<'_>,
        net: &dyn Network,
        scenes: &[Scene],
        rollout: &Rollout,
    ) -> crate::Result<Update> {
        let mut cotangents: Vec<Vec<Vector>> = Vec::with_capacity(scenes.len());
        for (scene, controls) in scenes.iter().zip(&rollout.controls) {
            let reference = scene
                .reference_controls
                .as_ref()
                .ok_or(crate::Error::NoReferenceControls)?;
            cotangents.push(
                controls
                    .iter()
                    .zip(reference.iter())
                    .map(|(u, r)| u - r)
                    .collect(),
            );
        }
        Ok(Update {
            grads: backward_control_cotangents(ctx, net, rollout, &cotangents),
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
