//! The `physinv` command line with the built-in simulators; everything lives in
//! [`physinv::cli`] (run `physinv --help` for the commands).

fn main() -> std::process::ExitCode {
    physinv::cli::main_with(physinv::sim::Registry::with_builtins())
}
