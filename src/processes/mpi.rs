//! [`MpiProcesses`]: the ranks of a process group as the processes of an MPI job (cargo
//! feature `mpi`, on the `mpi` crate), on one machine or many.
//!
//! Sums are formed in rank order like [`super::ThreadRanks`]' and give the same bits: the buffer
//! is cut into one chunk per rank ([`super::slice()`]); an all-to-all sends chunk `c` of every
//! rank to rank `c`, which adds the `size` copies in rank order (`((v₀ + v₁) + v₂) + …`); an
//! all-gather returns the summed chunks to every rank. Each rank sends and receives about
//! `2·(size − 1)/size` of the buffer, the volume of a ring all-reduce, and the result does not
//! depend on the MPI library's reduction order (an `MPI_Allreduce` may add in any order, and
//! differently on different ranks of some implementations).
//!
//! MPI is initialised with `MPI_THREAD_SERIALIZED`: the trainer calls the collectives from
//! whichever thread of the rayon pool runs it, one call at a time (a mutex makes sure).
//! [`MpiProcesses::initialize`] is called once, by the program's `main`
//! ([`crate::cli::main_with`]); MPI is finalised when the returned [`MpiRuntime`] is dropped.

use super::{slice, ProcessGroup};
use mpi::collective::SystemOperation;
use mpi::datatype::{Equivalence, Partition, PartitionMut};
use mpi::environment::{Threading, Universe};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use mpi::Count;
use std::fmt;
use std::ops::Add;
use std::sync::Mutex;

/// Elements per collective call: MPI counts are `int`, so longer buffers go in blocks.
const BLOCK: usize = 1 << 28;

/// The MPI library's state in this process: finalises MPI when dropped. Keep it alive (in
/// `main`) until every [`MpiProcesses`] is done.
pub struct MpiRuntime {
    _universe: Universe,
}

impl fmt::Debug for MpiRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MpiRuntime")
    }
}

/// This process's rank of `MPI_COMM_WORLD`.
pub struct MpiProcesses {
    world: Mutex<World>,
    rank: usize,
    size: usize,
}

/// The world communicator, used only under the mutex of [`MpiProcesses`].
struct World(SimpleCommunicator);

// SAFETY: MPI is initialised with `MPI_THREAD_SERIALIZED` (checked in `initialize`), which
// allows calls from any thread as long as no two run at once; every call goes through the
// `Mutex<World>` of `MpiProcesses`.
unsafe impl Send for World {}

impl fmt::Debug for MpiProcesses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MpiProcesses {{ rank: {}, size: {} }}",
            self.rank, self.size
        )
    }
}

impl MpiProcesses {
    /// Initialises MPI and returns this process's rank of the world with the runtime that
    /// finalises MPI when dropped.
    ///
    /// # Errors
    /// [`crate::Error::Config`] if MPI was initialised already or offers no thread support
    /// of at least `MPI_THREAD_SERIALIZED`.
    pub fn initialize() -> crate::Result<(MpiRuntime, MpiProcesses)> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| crate::Error::Config("MPI was initialised twice".into()))?;
        if threading < Threading::Serialized {
            return Err(crate::Error::Config(format!(
                "the MPI library offers thread support {threading:?}; physinv needs \
                 MPI_THREAD_SERIALIZED (its collectives run on a worker thread)"
            )));
        }
        let world = universe.world();
        let processes = MpiProcesses {
            rank: world.rank() as usize,
            size: world.size() as usize,
            world: Mutex::new(World(world)),
        };
        Ok((
            MpiRuntime {
                _universe: universe,
            },
            processes,
        ))
    }

    /// Ends every process of the job with exit code `code` (`MPI_Abort`): what a failure
    /// that the other ranks have not agreed on must do, since they may be waiting in a
    /// collective operation for this one.
    pub fn abort_job(code: i32) -> ! {
        SimpleCommunicator::world().abort(code)
    }

    /// The element-wise rank-order sum of every rank's `values` (see the module docs).
    fn sum<T>(&self, values: &mut [T])
    where
        T: Equivalence + Copy + Default + Add<Output = T>,
    {
        let world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        for block in values.chunks_mut(BLOCK) {
            sum_block(&world.0, block, self.rank, self.size);
        }
    }
}

/// [`MpiProcesses::sum`] of one block of at most [`BLOCK`] elements.
fn sum_block<T>(world: &SimpleCommunicator, values: &mut [T], rank: usize, size: usize)
where
    T: Equivalence + Copy + Default + Add<Output = T>,
{
    let n = values.len();
    let chunks: Vec<_> = (0..size).map(|r| slice(n, r, size)).collect();
    let counts: Vec<Count> = chunks.iter().map(|c| c.len() as Count).collect();
    let displs: Vec<Count> = chunks.iter().map(|c| c.start as Count).collect();
    let mine = chunks[rank].len();
    // Copy `s` of this rank's chunk, from rank `s`, at `s · mine`.
    let mut copies = vec![T::default(); mine * size];
    {
        let send = Partition::new(&*values, &counts[..], &displs[..]);
        let copy_counts = vec![mine as Count; size];
        let copy_displs: Vec<Count> = (0..size).map(|s| (s * mine) as Count).collect();
        let mut receive = PartitionMut::new(&mut copies[..], copy_counts, copy_displs);
        world.all_to_all_varcount_into(&send, &mut receive);
    }
    let mut summed = copies[..mine].to_vec();
    for copy in copies.chunks_exact(mine.max(1)).skip(1).take(size - 1) {
        for (s, v) in summed.iter_mut().zip(copy) {
            *s = *s + *v;
        }
    }
    let mut receive = PartitionMut::new(values, &counts[..], &displs[..]);
    world.all_gather_varcount_into(&summed[..], &mut receive);
}

impl ProcessGroup for MpiProcesses {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn sum_f32(&self, values: &mut [f32]) {
        self.sum(values);
    }

    fn sum_f64(&self, values: &mut [f64]) {
        self.sum(values);
    }

    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        let world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let process = world.0.process_at_rank(root as i32);
        let mut len = bytes.len() as u64;
        process.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        for block in bytes.chunks_mut(BLOCK) {
            process.broadcast_into(block);
        }
    }

    fn gather_bytes(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let mut lengths = vec![0u64; self.size];
        world
            .0
            .all_gather_into(&(bytes.len() as u64), &mut lengths[..]);
        let total: u64 = lengths.iter().sum();
        if total == 0 {
            // Nothing to move (every rank knows it now): Open MPI refuses an `MPI_Allgatherv`
            // of empty buffers with MPI_ERR_ARG.
            return vec![Vec::new(); self.size];
        }
        let mut all = vec![0u8; total as usize];
        if total <= BLOCK as u64 {
            let counts: Vec<Count> = lengths.iter().map(|&l| l as Count).collect();
            let displs = offsets(&counts);
            let mut receive = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
            world.0.all_gather_varcount_into(bytes, &mut receive);
        } else {
            // Counts and displacements are `int`: beyond that, one rank at a time.
            let mut at = 0;
            for (root, &len) in lengths.iter().enumerate() {
                let part = &mut all[at..at + len as usize];
                if root == self.rank {
                    part.copy_from_slice(bytes);
                }
                for block in part.chunks_mut(BLOCK) {
                    world.0.process_at_rank(root as i32).broadcast_into(block);
                }
                at += len as usize;
            }
        }
        let mut parts = Vec::with_capacity(self.size);
        let mut rest = &all[..];
        for &len in &lengths {
            let (part, tail) = rest.split_at(len as usize);
            parts.push(part.to_vec());
            rest = tail;
        }
        parts
    }

    /// One `MPI_Allreduce` with the maximum: exact in any order.
    fn any(&self, flag: bool) -> bool {
        let world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let mut any = 0i32;
        world
            .0
            .all_reduce_into(&i32::from(flag), &mut any, SystemOperation::max());
        any != 0
    }

    /// One broadcast from rank 0.
    fn rank0_value(&self, value: f64) -> f64 {
        let world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let mut value = value;
        world.0.process_at_rank(0).broadcast_into(&mut value);
        value
    }
}

/// The start of each part of a concatenation of parts of `counts` elements.
fn offsets(counts: &[Count]) -> Vec<Count> {
    counts
        .iter()
        .scan(0, |at, &c| {
            let start = *at;
            *at += c;
            Some(start)
        })
        .collect()
}
