//! Stopping a run cleanly on SIGINT or SIGTERM.
//!
//! [`flag`] installs, once per process, a handler that sets a shared flag; the trainer checks
//! it between iterations, writes a checkpoint and the partial results, and the run ends with
//! [`crate::Error::Interrupted`] (a non-zero exit of the command line). A second signal while
//! stopping exits at once with status 130.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The process-wide stop flag, set by SIGINT or SIGTERM (the handler is installed on the first
/// call; if another handler is already installed, the flag is never set by a signal).
pub fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = flag.clone();
        let installed = ctrlc::set_handler(move || {
            if seen.swap(true, Ordering::SeqCst) {
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
