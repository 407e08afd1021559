//! Example 2: training a controller through a simulated episode.
//!
//! Runs a scenario file (default `scenarios/oscillators.ron`: two coupled oscillators returned
//! to their initial state by a force on the second one), trains every method it lists (SIP
//! and back-propagation through time), writes `metrics.csv` and `summary.json`, and prints the
//! comparison table.
//!
//! ```text
//! cargo run --release --example control -- scenarios/<file>.ron [--out DIR]
//! ```

use physinv::run::example_main;

/// mimalloc, as in the `physinv` binary (allocation-heavy hot loops run 1.3–1.7× faster than
/// with the system allocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use physinv::Registry;

fn main() -> std::process::ExitCode {
    example_main("scenarios/oscillators.ron", &Registry::with_builtins())
}
