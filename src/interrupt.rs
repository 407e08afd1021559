//! Stopping a run cleanly on SIGINT or SIGTERM.
//!
//! [`flag`] installs, once per process, a handler that sets a shared flag; the trainer checks
//! it between iterations, writes a checkpoint and the partial results, and the run ends with
//! [`crate::Error::Interrupted`] (a non-zero exit of the command line).
//!
//! **Signal policy.** Signals that arrive within [`SAME_REQUEST`] of the first one are the same
//! request: GNU `timeout`, batch schedulers and `mpirun` signal both the process and its
//! process group, so one request often arrives as two signals at once. A signal that comes
//! later, while the run is still stopping, exits at once with status 130, without a
//! checkpoint (for a user who presses Ctrl-C twice).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Signals within this time of the first one count as one stop request.
pub const SAME_REQUEST: Duration = Duration::from_secs(1);

/// Whether a signal at `now` (milliseconds since the process's clock started) repeats a stop
/// request first signalled at `first` (`u64::MAX`: none recorded yet, as while the first
/// signal's handler is still running) instead of being the same one.
fn repeats(first: u64, now: u64) -> bool {
    first != u64::MAX && now.saturating_sub(first) > SAME_REQUEST.as_millis() as u64
}

/// The process-wide stop flag, set by SIGINT or SIGTERM (the handler is installed on the first
/// call; if another handler is already installed, the flag is never set by a signal).
pub fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = flag.clone();
        let clock = Instant::now();
        let first = AtomicU64::new(u64::MAX);
        let installed = ctrlc::set_handler(move || {
            let now = clock.elapsed().as_millis() as u64;
            if !seen.swap(true, Ordering::SeqCst) {
                first.store(now, Ordering::SeqCst);
            } else if repeats(first.load(Ordering::SeqCst), now) {
                std::process::exit(130);
            }
        });
        if let Err(e) = installed {
            eprintln!("note: no SIGINT/SIGTERM handler ({e}); an interrupt will not checkpoint");
        }
        flag
    })
    .clone()
}

/// Whether `stop` (if any) has been set.
pub fn requested(stop: Option<&Arc<AtomicBool>>) -> bool {
    stop.is_some_and(|s| s.load(Ordering::SeqCst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_close_together_are_one_request() {
        assert!(
            !repeats(u64::MAX, 5_000),
            "the first signal's time not yet recorded"
        );
        assert!(!repeats(1_000, 1_000));
        assert!(!repeats(1_000, 1_000 + SAME_REQUEST.as_millis() as u64));
        assert!(repeats(1_000, 2_500));
    }
}
