//! The `physinv` command line with the built-in simulators; everything lives in
//! [`physinv::cli`] (run `physinv --help` for the commands).

/// mimalloc instead of the system allocator: the training loops still allocate per step
/// (episode vectors, network buffers), and glibc's allocator cost 25–50 % of an iteration
/// (oscillators SIP 2.72 → 1.58 ms, BPTT 1.57 → 1.02 ms, sine SIP 148 → 115 µs, Burgers SIP
/// 15.1 → 14.0 ms per iteration at `--threads 1`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    physinv::cli::main_with(physinv::Registry::with_builtins())
}
