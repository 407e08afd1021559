//! The worker pool every command runs in.
//!
//! A command runs *inside* a rayon pool (`install`), so that its parallel loops are forked
//! from a worker: with one thread they run entirely on the calling thread with no cross-thread
//! hand-off, and with more they avoid the wake-up and wait of injecting work from outside the
//! pool on every loop. Parallel loops over episodes also have a minimum number of episodes per
//! task ([`MIN_EPISODES_PER_TASK`] for cheap per-episode work), so small batches stay on one
//! thread. Results do not depend on the thread count: every loop collects in order.

/// Episodes per task below which a cheap per-episode loop (a simulator step, a VJP, drawing a
/// scene) is not split further: one task of this size costs well under the ≈10 µs a hand-off
/// between threads costs.
pub const MIN_EPISODES_PER_TASK: usize = 64;

/// State components × steps of simulation below which a closed-loop rollout is not split into
/// parallel chunks of episodes: a chunk of this size (16 Burgers episodes of 32 cells and 32
/// steps) costs a few hundred µs, well above a hand-off.
pub const MIN_STATE_STEPS_PER_TASK: usize = 16_384;

/// Episodes per parallel chunk of a closed-loop rollout at least: the per-step forward pass of
/// fewer rows uses the matrix kernels poorly.
pub const MIN_EPISODES_PER_CHUNK: usize = 16;

/// Runs `f` inside a rayon pool of `threads` workers (`None`: one per core).
///
/// # Errors
/// If the pool cannot be created.
pub fn run_in_pool<R: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> Result<R, rayon::ThreadPoolBuildError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()?;
    Ok(pool.install(f))
}
