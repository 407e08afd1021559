//! The process group a program was started in: one process, or — started by an MPI launcher
//! (`mpirun`, `mpiexec`, `srun` with MPI) in a build with the cargo feature `mpi` — the ranks
//! of the MPI job (`MpiProcesses`, in the module `mpi` built with the feature).
//!
//! A launcher announces itself in the environment (`OMPI_COMM_WORLD_SIZE` for Open MPI,
//! `PMI_SIZE` for MPICH, Intel MPI and Slurm's PMI, `PMIX_RANK` for PMIx). Without one, MPI is
//! not initialised at all, so a build with the feature runs like one without it. A build
//! without the feature that a launcher started as several processes refuses to run: each
//! process would train the whole scenario on its own and write the same files.
//!
//! In a job of several ranks a panic ends the whole job (`MPI_Abort` from the panic hook):
//! an unwinding rank would leave the others waiting in a collective operation forever.

use super::{ProcessGroup, SingleProcess};
use std::sync::Arc;

/// Environment variables through which MPI launchers give a process the job's size.
const SIZE_VARIABLES: [&str; 2] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"];

/// Environment variables whose presence alone says an MPI launcher started the process.
const LAUNCHER_VARIABLES: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"];

/// The process group of this program and what keeps it alive.
#[derive(Debug)]
pub struct Started {
    /// This process's rank of the group.
    pub processes: Arc<dyn ProcessGroup>,
    /// Finalises MPI when dropped (after every use of `processes`).
    #[cfg(feature = "mpi")]
    _runtime: Option<super::mpi::MpiRuntime>,
}

impl Started {
    /// One process, no MPI.
    pub fn single() -> Self {
        Started {
            processes: Arc::new(SingleProcess),
            #[cfg(feature = "mpi")]
            _runtime: None,
        }
    }

    /// Ends every process of the job with exit code `code` (`MPI_Abort`); in one process,
    /// returns (the caller exits with the code itself).
    pub fn abort_job(&self, code: i32) {
        #[cfg(feature = "mpi")]
        if self.processes.size() > 1 {
            super::mpi::MpiProcesses::abort_job(code);
        }
        let _ = code;
    }
}

/// Whether an MPI launcher started this process.
pub fn launched_by_mpi() -> bool {
    LAUNCHER_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// The job size an MPI launcher announced, if any.
pub fn launcher_size() -> Option<usize> {
    SIZE_VARIABLES
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// The process group this program was started in (see the module docs).
///
/// # Errors
/// [`crate::Error::Config`] if a launcher started several processes of a build without the
/// `mpi` feature, or if MPI cannot be initialised.
pub fn start() -> crate::Result<Started> {
    if !launched_by_mpi() {
        return Ok(Started::single());
    }
    start_mpi()
}

#[cfg(feature = "mpi")]
fn start_mpi() -> crate::Result<Started> {
    let (runtime, processes) = super::mpi::MpiProcesses::initialize()?;
    if processes.size() > 1 {
        abort_job_on_panic();
    }
    Ok(Started {
        processes: Arc::new(processes),
        _runtime: Some(runtime),
    })
}

#[cfg(not(feature = "mpi"))]
fn start_mpi() -> crate::Result<Started> {
    match launcher_size() {
        Some(size) if size > 1 => Err(crate::Error::Config(format!(
            "an MPI launcher started {size} processes, but this physinv was built without \
             MPI; build it with `cargo build --release --features mpi` (docs/running.md), or \
             start one process without the launcher"
        ))),
        _ => Ok(Started::single()),
    }
}

/// Installs a panic hook that prints the panic as usual, then ends the whole MPI job.
#[cfg(feature = "mpi")]
fn abort_job_on_panic() {
    let print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print(info);
        eprintln!("error: a panic ends the whole MPI job (MPI_Abort)");
        super::mpi::MpiProcesses::abort_job(101);
    }));
}
