//! The built-in update rules as scenarios write them — `Sip(…)`, `Bptt(…)`, `Supervised`,
//! `Hig(…)`, `GaussNewton(…)` — registered for [`Rules::builtin`] the same way a user's crate
//! registers its own rules. Each rule's parameter struct (its [`super::rules::RuleSpec`]) lives
//! in the rule's own file.

pub use super::bptt::BpttSpec;
pub use super::hig::{GaussNewtonSpec, HigSpec};
pub use super::sip::SipSpec;
pub use super::supervised::SupervisedSpec;

use super::rules::Rules;

/// Registers the built-in rules in `rules`.
pub(crate) fn register(rules: &mut Rules) {
    rules.register::<SipSpec>(
        "Sip",
        "scale-invariant physics: Newton step of the loss, physics inverse, proxy loss",
    );
    rules.register::<BpttSpec>(
        "Bptt",
        "differentiable physics: back-propagation through the simulator (through time)",
    );
    rules.register::<SupervisedSpec>(
        "Supervised",
        "regression on the scenes' ground-truth controls",
    );
    rules.register::<HigSpec>(
        "Hig",
        "half-inverse gradients: network and physics inverted jointly by a truncated SVD",
    );
    rules.register::<GaussNewtonSpec>(
        "GaussNewton",
        "Gauss-Newton: the truncated pseudo-inverse of the residual Jacobian",
    );
}
