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

/// State components (× steps) of simulation below which a loop over episodes is not split
/// further: a task of this size costs tens of µs (4 Burgers episodes of 32 cells and 32 steps,
/// 43 oscillator episodes of 4 components and 24 steps), above the cost of a hand-off; one
/// simulator step of 256 oscillator episodes is far below it and stays on one thread.
pub const MIN_STATE_STEPS_PER_TASK: usize = 4_096;

/// Episodes per parallel chunk of a closed-loop rollout at least: the per-step forward pass of
/// fewer rows uses the matrix kernels poorly.
pub const MIN_EPISODES_PER_CHUNK: usize = 16;

/// Rows (samples) of a network pass below which the layer products lose efficiency per row:
/// measured on the Burgers controller (`cargo bench --bench network`), a forward and backward
/// pass of 512 rows costs per row what one of 1024 rows does, one of 32 rows about 1.3 times as
/// much.
pub const MIN_ROWS_PER_PASS: usize = 512;

/// Episodes per task of a parallel loop whose work per episode is `work` state components
/// (× steps, where the loop runs whole trajectories): enough for [`MIN_STATE_STEPS_PER_TASK`],
/// and at least `floor`. Depends on the problem's size only, never on the thread count.
pub fn episodes_per_task(work: usize, floor: usize) -> usize {
    MIN_STATE_STEPS_PER_TASK.div_ceil(work.max(1)).max(floor)
}

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
