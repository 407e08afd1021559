//! Resource limits of a run, checked when a scenario is validated, before anything is
//! allocated: an estimate of the memory the run needs against a ceiling
//! ([`ResourceLimits::max_memory`], default [`DEFAULT_MAX_MEMORY`]), the largest scenario file
//! that is read ([`MAX_SCENARIO_FILE_BYTES`]) and the most worker threads ([`MAX_THREADS`]).
//!
//! The estimate is an order of magnitude, not an account: it adds up the large buffers a run
//! holds (the network and optimizer state, a checkpoint being written, the training batch's
//! episodes and the network's activations over them, the update rule's own matrices, the
//! held-out scenes and an evaluation chunk) and ignores everything proportional to a single
//! state, and the process's own few MiB. Every product is
//! saturating, so a size that overflows `u64` is an estimate of `u64::MAX` bytes, which is
//! over any ceiling.

use super::PolicyKind;
use super::{network_inputs, network_outputs, MethodSpec, ScenarioSpec};
pub use crate::memory::{
    product, Bytes, MemoryEstimate, MemoryExceeded, MemoryPart, ResourceLimits, RunSizes,
    DEFAULT_MAX_MEMORY, F32_BYTES, F64_BYTES, GIB, MAX_MEMORY_CEILING,
};
use crate::net::{NetworkIo, NetworkSize};
use crate::sim::Physics;

/// Largest scenario file that is read (16 MiB); real scenarios are a few KiB, so anything
/// larger is the wrong file (or a device such as `/dev/zero`).
pub const MAX_SCENARIO_FILE_BYTES: u64 = 16 << 20;

/// Most worker threads `--threads` may ask for: beyond this the threads' stacks alone take
/// gigabytes and setting up the pool takes minutes.
pub const MAX_THREADS: usize = 1024;

/// Bytes per stored vector besides its elements: nalgebra's `DVector` header (pointer,
/// capacity, length, rows) and the allocator's bookkeeping. Dominates for small states.
const VECTOR_OVERHEAD_BYTES: u64 = 32;
/// Copies of the network parameters alive while training: the parameters, their gradient,
/// Adam's two moment estimates, and the best-so-far network kept for the final evaluation.
const PARAMETER_COPIES: u64 = 5;
/// Per layer and sample, the affine output and the activation are kept for the backward
/// pass, and each meets a cotangent of the same size (measured: a closed-loop batch of 6400
/// point-mass episodes peaks at about this).
const ACTIVATION_COPIES: u64 = 4;
/// Bytes per network parameter while a checkpoint is written: the parameters (`f32`), Adam's
/// two moments (`f64`) and the best-so-far parameters (`f32`) are copied into the checkpoint,
/// then serialised to JSON at once (about 12 characters per `f32`, 22 per `f64`). Measured:
/// a 16.8 M-parameter network peaks at about 95 bytes per parameter when it is saved.
const CHECKPOINT_BYTES_PER_PARAMETER: u64 = 96;
/// Copies of the training episodes: the rollout and the update's own trajectory (SIP's
/// corrected trajectory, BPTT's adjoints).
const EPISODE_COPIES: u64 = 2;
/// Scenes evaluated at once (the evaluation's chunk in `train::evaluate`).
const EVALUATION_CHUNK: u64 = 1024;

/// Saturating `usize → u64`.
fn size(x: usize) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// Bytes of `count` stored `f64` vectors of length `len`.
fn vectors(count: u64, len: u64) -> u64 {
    count.saturating_mul(
        len.saturating_mul(F64_BYTES)
            .saturating_add(VECTOR_OVERHEAD_BYTES),
    )
}

/// The sizes of a run of `method` on `physics`, saturated to `u64` (what a rule's memory
/// estimate and checks see).
pub fn run_sizes(spec: &ScenarioSpec, method: &MethodSpec, physics: &Physics) -> RunSizes {
    let (n, m) = (physics.sim().state_dim(), physics.sim().control_dim());
    RunSizes {
        state_dim: size(n),
        control_dim: size(m),
        steps: size(spec.episode.steps),
        batch: size(method.batch_size(&spec.training)),
        parameters: network_size(spec, physics).parameters,
    }
}

/// The network's size from its kind, for its input and output ([`super::network_io`]; sizes
/// saturated at `usize::MAX` where they overflow).
fn network_size(spec: &ScenarioSpec, physics: &Physics) -> NetworkSize {
    let (n, m) = (physics.sim().state_dim(), physics.sim().control_dim());
    let io = super::network_io(spec, physics).unwrap_or_else(|| {
        let inputs = network_inputs(&spec.episode, n).unwrap_or(usize::MAX);
        NetworkIo::flat(
            inputs,
            network_outputs(&spec.episode, m).unwrap_or(usize::MAX),
        )
    });
    spec.network.size(&io)
}

/// Estimates the memory of a run of `spec` on `physics` (state dimension `n`, control
/// dimension `m`). Defined for any spec (sizes saturate); meaningful once the spec
/// is otherwise valid.
///
/// With `T` steps, batch `B`, `I` network inputs, `O` outputs, and the network kind's `P`
/// parameters and `A` activations per sample ([`crate::net::NetworkKind::size`]; the MLP's
/// `A = I + H + O`, `H` the sum of the hidden widths):
///
/// | part | bytes |
/// | --- | --- |
/// | network parameters and optimizer state | `5 · P · 4` |
/// | checkpoint being written (vectors and JSON text) | `96 · P` |
/// | network activations | `4 · S · A · 4`, `S = T·B` samples closed loop (`B` open loop), at least an evaluation chunk |
/// | training episodes | `2 · B · ((T+1)·n + T·m) · 8` plus the network inputs `T·B·I · 8` (`B·I` open loop) |
/// | held-out scenes | `(test + validation) · (2n + T·m) · 8` (`T·m` only with reference controls) |
/// | evaluation rollouts | `min(max(test, validation), 1024) · ((T+1)·n + T·m) · 8` |
///
/// plus the working memory of the update rule that needs the most
/// ([`crate::train::rules::RuleSpec::memory`], at the method's own batch): for `Sip`, the
/// inversion Gramians `B · n² · 8` of dense episode inversions and chain plans, plus
/// `B · T·m·n · 8` feedback gains; for `Hig` and `GaussNewton`, three copies of the residual
/// Jacobian, `3 · R · P · 8` with `R` residual rows per batch. Every stored vector also counts
/// 32 bytes of overhead.
pub fn estimate_memory(spec: &ScenarioSpec, physics: &Physics) -> MemoryEstimate {
    let (n, m) = (
        size(physics.sim().state_dim()),
        size(physics.sim().control_dim()),
    );
    let steps = size(spec.episode.steps);
    let batch = size(spec.largest_batch());
    let n_dim = physics.sim().state_dim();
    let inputs = network_inputs(&spec.episode, n_dim).map_or(u64::MAX, size);
    let network_size = network_size(spec, physics);
    let width_sum = network_size.activations_per_sample;
    let open_loop = spec.episode.policy == PolicyKind::OpenLoop;
    let held_out = size(spec.data.test_count).saturating_add(size(spec.data.validation_count));
    let chunk = size(spec.data.test_count.max(spec.data.validation_count)).min(EVALUATION_CHUNK);

    let train_samples = if open_loop {
        batch
    } else {
        batch.saturating_mul(steps)
    };
    let samples = train_samples.max(chunk);
    let parameter_count = network_size.parameters;
    let network = product(&[PARAMETER_COPIES, parameter_count, F32_BYTES]);
    let checkpoint = parameter_count.saturating_mul(CHECKPOINT_BYTES_PER_PARAMETER);
    let activations = product(&[ACTIVATION_COPIES, samples, width_sum, F32_BYTES]);

    let states = steps.saturating_add(1);
    let one_episode = vectors(states, n).saturating_add(vectors(steps, m));
    let episodes = product(&[EPISODE_COPIES, batch, one_episode])
        .saturating_add(vectors(train_samples, inputs));

    // Methods run one after the other: the rule with the largest working memory counts.
    let rules = spec
        .methods
        .iter()
        .map(|method| {
            method
                .update
                .rule()
                .memory(&super::problem(spec, method, physics))
        })
        .max_by_key(|parts| parts.iter().fold(0u64, |s, p| s.saturating_add(p.bytes)))
        .unwrap_or_default();

    let references = spec.data.scenes.has_reference_controls();
    let reference_controls = if references { vectors(steps, m) } else { 0 };
    let one_scene = vectors(2, n).saturating_add(reference_controls);
    let scenes = held_out.saturating_mul(one_scene);
    let evaluation = chunk.saturating_mul(one_episode);

    let part = |what: &str, driven_by, bytes| MemoryPart {
        what: what.to_string(),
        driven_by,
        bytes,
    };
    MemoryEstimate {
        parts: vec![
            part(
                "network parameters and optimizer state",
                "network.hidden, and episode.steps for open loop",
                network,
            ),
            part(
                "checkpoint being written",
                "network.hidden, and episode.steps for open loop",
                checkpoint,
            ),
            part(
                "network activations",
                "training.batch × episode.steps × network widths",
                activations,
            ),
            part(
                "training episodes",
                "training.batch × episode.steps",
                episodes,
            ),
            part(
                "held-out scenes",
                "data.test_count + data.validation_count",
                scenes,
            ),
            part(
                "evaluation rollouts",
                "up to 1024 held-out scenes × episode.steps",
                evaluation,
            ),
        ]
        .into_iter()
        .chain(rules)
        .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_in_binary_units() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(8 * GIB).to_string(), "8.0 GiB");
        assert!(Bytes(u64::MAX).to_string().contains("overflows"));
    }

    #[test]
    fn memory_ceiling_in_gib_is_checked() {
        assert_eq!(
            ResourceLimits::with_max_memory_gib(0.5).unwrap().max_memory,
            GIB / 2
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 2e6] {
            assert!(ResourceLimits::with_max_memory_gib(bad).is_err(), "{bad}");
        }
    }
}
