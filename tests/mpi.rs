//! Data-parallel runs on MPI, end to end through `mpirun` and the `physinv` binary
//! (`cargo test --features mpi --test mpi`; needs Open MPI's `mpirun`, which
//! `scripts/install-mpi.sh` installs; `.ci/run` runs these with 2 ranks).
//!
//! - Two ranks end with the test metrics of one process on the same global batch, within
//!   summation order, for the oscillators (SIP, BPTT, HIG, Gauss-Newton), Burgers (SIP, BPTT)
//!   and the point mass with HIG.
//! - A rank killed mid-run ends the job with an error within seconds; resuming from its
//!   checkpoint (on 2 ranks, or on 1) ends where an uninterrupted run does.
//! - A panic in one rank ends the job; a scenario error is reported once; commands other than
//!   `train` refuse to run split.
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mpirun -np <ranks>` with what a root user in a container needs (as in docs/running.md).
fn mpirun(ranks: usize) -> Command {
    let mut command = Command::new("mpirun");
    command
        .args(["-np", &ranks.to_string(), "--oversubscribe"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
    command
}

/// `physinv --quiet --threads 1 train <scenario> <args> --out <out>` on `ranks` ranks (0: one
/// process without the launcher).
fn train(ranks: usize, scenario: &str, args: &[&str], out: &Path) -> Output {
    let binary = env!("CARGO_BIN_EXE_physinv");
    let mut command = if ranks == 0 {
        Command::new(binary)
    } else {
        let mut c = mpirun(ranks);
        c.arg(binary);
        c
    };
    command
        .args(["--quiet", "--threads", "1", "train", scenario])
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    command.output().expect("mpirun and physinv start")
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Each method's test metrics from a run's summary.json, in order.
fn test_metrics(out: &Path) -> Vec<(String, Vec<(String, f64)>)> {
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    let summary: serde_json::Value = serde_json::from_str(&text).expect("json");
    summary["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|m| {
            let metrics = m["metrics"]
                .as_object()
                .expect("test metrics")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_f64().expect("number")))
                .collect();
            (m["method"].as_str().expect("name").to_string(), metrics)
        })
        .collect()
}

/// Largest relative difference between two runs' test metrics (same methods and names).
fn largest_gap(a: &Path, b: &Path) -> f64 {
    let (a, b) = (test_metrics(a), test_metrics(b));
    assert_eq!(a.len(), b.len());
    let mut gap = 0f64;
    for ((name_a, ma), (name_b, mb)) in a.iter().zip(&b) {
        assert_eq!(name_a, name_b);
        for ((ka, va), (kb, vb)) in ma.iter().zip(mb) {
            assert_eq!(ka, kb);
            gap = gap.max((va - vb).abs() / va.abs().max(vb.abs()).max(1e-300));
        }
    }
    gap
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The same global batch on 2 ranks and on one process: the test metrics agree within
/// rounding. The ranks' network passes run on half the batch, whose products round differently
/// (f32), and the gradients' halves are added last; HIG and Gauss-Newton gather the Jacobian
/// rows in episode order, so their step is the one process's up to that rounding. Measured:
/// oscillators (SIP, BPTT, HIG, Gauss-Newton, 20 iterations) 9.6e-8, Burgers (SIP, BPTT)
/// 3e-16. The point mass's HIG keeps singular values down to 1e-10 σ_max (its default
/// truncation), and `σ^(−½)` amplifies the rounding: 2.2e-5 after its first step, 9.4e-3
/// after 10; its bound says so.
#[test]
fn two_ranks_end_with_the_metrics_of_one_process() {
    let cases: [(&str, &[&str], f64); 3] = [
        ("scenarios/oscillators.ron", &["--iterations", "20"], 1e-6),
        (
            "scenarios/burgers.ron",
            &["--iterations", "8", "--method", "SIP", "--method", "BPTT"],
            1e-6,
        ),
        (
            "scenarios/point_mass.ron",
            &["--iterations", "10", "--method", "HIG"],
            3e-2,
        ),
    ];
    for (scenario, args, bound) in cases {
        let (one, two) = (temp(), temp());
        ok(train(0, scenario, args, one.path()));
        ok(train(2, scenario, args, two.path()));
        let gap = largest_gap(one.path(), two.path());
        eprintln!("{scenario}: largest relative gap of the test metrics {gap:.2e}");
        assert!(gap < bound, "{scenario}: 2 ranks differ from 1 by {gap:e}");
    }
}

/// Waits until `path` exists (at most `limit`).
fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The processes of this user running `binary` with `marker` among their arguments.
fn pids_of(marker: &Path) -> Vec<u32> {
    let marker = marker.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_rank = args.first().is_some_and(|a| a.ends_with("/physinv"));
        if is_rank && args.contains(&marker) {
            pids.push(pid);
        }
    }
    pids
}

/// One rank killed mid-run (`kill -9`) ends the 2-rank job with an error in under 10 s.
/// Resuming from the last checkpoint on 2 ranks ends exactly where an uninterrupted 2-rank
/// run ends; resuming on 1 process ends there within summation order.
#[test]
fn a_killed_rank_ends_the_job_and_resume_matches_an_uninterrupted_run() {
    let scenario = "scenarios/oscillators.ron";
    let length = ["--iterations", "300", "--method", "BPTT"];
    let whole = temp();
    ok(train(2, scenario, &length, whole.path()));

    let killed = temp();
    let out = killed.path().to_path_buf();
    let mut job = mpirun(2)
        .arg(env!("CARGO_BIN_EXE_physinv"))
        .args(["--quiet", "--threads", "1", "train", scenario])
        .args(length)
        .args(["--checkpoint-every", "10", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun starts");
    wait_for(&out.join("checkpoints/BPTT.json"), Duration::from_secs(120));
    let ranks = pids_of(&out);
    assert_eq!(ranks.len(), 2, "two ranks running: {ranks:?}");
    let start = Instant::now();
    Command::new("kill")
        .args(["-9", &ranks[1].to_string()])
        .status()
        .expect("kill");
    let status = job.wait().expect("mpirun ends");
    let took = start.elapsed();
    eprintln!("the job ended {took:?} after a rank was killed ({status})");
    assert!(!status.success());
    assert!(took < Duration::from_secs(10), "took {took:?}");

    let summary = |dir: &Path| std::fs::read_to_string(dir.join("summary.json")).ok();
    let resumed_on = |ranks: usize| -> PathBuf {
        let copy = temp().keep();
        copy_dir(&out, &copy);
        let mut args = vec!["--resume"];
        let dir = copy.to_string_lossy().into_owned();
        args.push(&dir);
        args.extend(["--iterations", "300", "--method", "BPTT"]);
        // `--resume` writes into the directory it resumes; `--out` is refused beside it.
        let binary = env!("CARGO_BIN_EXE_physinv");
        let mut command = if ranks == 0 {
            Command::new(binary)
        } else {
            let mut c = mpirun(ranks);
            c.arg(binary);
            c
        };
        ok(command
            .args(["--quiet", "--threads", "1", "train", scenario])
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("resume starts"));
        copy
    };
    let again = resumed_on(2);
    assert_eq!(
        test_metrics(&again),
        test_metrics(whole.path()),
        "resumed on 2 ranks: {:?}",
        summary(&again)
    );
    let alone = resumed_on(0);
    let gap = largest_gap(&alone, whole.path());
    eprintln!("resumed on one process: largest relative gap {gap:.2e}");
    assert!(gap < 1e-4);
}

/// SIGTERM to `mpirun` (what a batch scheduler sends at the end of a job's time) reaches every
/// rank: they stop together between iterations, rank 0 writes the checkpoint and the partial
/// results, and the job ends with status 1 in seconds, not killed.
#[test]
fn a_signal_to_mpirun_writes_the_checkpoint_and_ends_every_rank() {
    let dir = temp();
    let out = dir.path().join("run");
    let job = mpirun(2)
        .arg(env!("CARGO_BIN_EXE_physinv"))
        .args(["--threads", "1", "train", "scenarios/oscillators.ron"])
        .args([
            "--iterations",
            "100000",
            "--method",
            "BPTT",
            "--checkpoint-every",
            "10",
        ])
        .arg("--out")
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun starts");
    wait_for(&out.join("checkpoints/BPTT.json"), Duration::from_secs(120));
    let start = Instant::now();
    Command::new("kill")
        .args(["-TERM", &job.id().to_string()])
        .status()
        .expect("kill");
    let output = job.wait_with_output().expect("mpirun ends");
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("the job ended {took:?} after SIGTERM ({})", output.status);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!stderr.contains("MPI_ABORT"), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(out.join("summary.json").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("checkpoints")).expect("mkdir");
    for entry in std::fs::read_dir(from.join("checkpoints")).expect("checkpoints") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join("checkpoints").join(entry.file_name())).expect("copy");
    }
}

/// A scenario error is printed once (by rank 0), and the job fails.
#[test]
fn a_scenario_error_is_reported_once() {
    let dir = temp();
    let bad = dir.path().join("bad.ron");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/point_mass.ron"),
    )
    .expect("point_mass.ron");
    let text = text.replacen("name: \"point_mass\"", "name: \"no_such_simulator\"", 2);
    std::fs::write(&bad, text).expect("write");
    let output = train(2, &bad.to_string_lossy(), &[], &dir.path().join("out"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(stderr.contains("no_such_simulator"), "{stderr}");
}

/// Only `train` runs split; another command says so instead of running twice.
#[test]
fn other_commands_refuse_to_run_split() {
    let output = mpirun(2)
        .arg(env!("CARGO_BIN_EXE_physinv"))
        .args(["validate", "scenarios/point_mass.ron"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mpirun starts");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("only `physinv train` runs split"),
        "{stderr}"
    );
}

/// A panic in rank 1 (a user simulator that panics at its 50th VJP there) ends the job with an
/// error in under 10 s, where an unwinding rank would leave the other waiting forever.
#[test]
fn a_panic_in_one_rank_ends_the_job() {
    let dir = temp();
    let start = Instant::now();
    let output = mpirun(2)
        .arg(std::env::current_exe().expect("this test binary"))
        .args([
            "--ignored",
            "--exact",
            "rank_program_that_panics",
            "--nocapture",
        ])
        .env("PHYSINV_RANK_PROGRAM_OUT", dir.path())
        .output()
        .expect("mpirun starts");
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("the job ended {took:?} after the start ({})", output.status);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("panicked") && stderr.contains("MPI_Abort"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// The program every rank of [`a_panic_in_one_rank_ends_the_job`] runs (started by `mpirun`
/// on this test binary; ignored in a plain test run).
#[test]
#[ignore = "a rank program, started by a_panic_in_one_rank_ends_the_job"]
fn rank_program_that_panics() {
    use clap::Parser as _;
    use physinv::cli::{exit_code_in, run_in, Cli};
    let Some(out) = std::env::var_os("PHYSINV_RANK_PROGRAM_OUT") else {
        return;
    };
    let started = physinv::processes::launch::start().expect("MPI starts");
    let rank = started.processes.rank();
    let mut registry = physinv::Registry::with_builtins();
    registry.register(
        "panics_on_rank_1",
        "a double integrator whose 50th VJP panics on rank 1",
        move |_: panicking::NoParams| {
            Ok(physinv::sim::Physics::differentiable(
                panicking::Integrator {
                    vjps: Default::default(),
                    panics: rank == 1,
                },
            ))
        },
    );
    let scenario = Path::new(&out).join("panics.ron");
    std::fs::write(&scenario, panicking::SCENARIO).expect("write");
    let cli = Cli::try_parse_from([
        "physinv".as_ref(),
        "--quiet".as_ref(),
        "train".as_ref(),
        scenario.as_os_str(),
        "--out".as_ref(),
        Path::new(&out).join("out").as_os_str(),
    ])
    .expect("arguments");
    let code = exit_code_in(run_in(cli, &registry, &started.processes), &started);
    drop(started);
    std::process::exit(if code == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}

mod panicking {
    use physinv::sim::{Jvp, Simulator, Vector, Vjp};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub const SCENARIO: &str = r#"(
    name: "panics",
    simulator: (name: "panics_on_rank_1"),
    episode: (steps: 4, policy: OpenLoop),
    data: (seed: 1, scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0])), test_count: 4, validation_count: 4),
    network: Mlp(hidden: [6], activation: tanh),
    methods: [(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))],
    training: (batch: 8, iterations: 100000, log_every: 10, seed: 0),
)"#;

    const DT: f64 = 0.1;

    /// The parameters of a simulator that has none (`params: ()`).
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NoParams {}

    pub struct Integrator {
        pub vjps: AtomicUsize,
        pub panics: bool,
    }

    impl Simulator for Integrator {
        fn name(&self) -> &str {
            "panics_on_rank_1"
        }
        fn state_dim(&self) -> usize {
            2
        }
        fn control_dim(&self) -> usize {
            1
        }
        fn step(&self, s: &Vector, u: &Vector) -> Vector {
            Vector::from_column_slice(&[s[0] + DT * s[1], s[1] + DT * u[0]])
        }
    }

    impl Jvp for Integrator {
        fn jvp(&self, _: &Vector, _: &Vector, ds: &Vector, du: &Vector) -> Vector {
            Vector::from_column_slice(&[ds[0] + DT * ds[1], ds[1] + DT * du[0]])
        }
    }

    impl Vjp for Integrator {
        fn vjp(&self, _: &Vector, _: &Vector, c: &Vector) -> (Vector, Vector) {
            if self.panics && self.vjps.fetch_add(1, Ordering::SeqCst) == 50 {
                panic!("the 50th VJP of rank 1 panics (a test of the job's end)");
            }
            (
                Vector::from_column_slice(&[c[0], DT * c[0] + c[1]]),
                Vector::from_column_slice(&[DT * c[1]]),
            )
        }
    }
}

/// The collective operations of `MpiProcesses` on 3 ranks give what `ThreadRanks` gives:
/// sums in rank order (1e8 + 1 − 1e8 is 0 in f32 only in that order), gathers and broadcasts
/// of different lengths, agreement on a flag and rank 0's value.
#[test]
fn mpi_collectives_match_the_thread_reference() {
    let output = mpirun(3)
        .arg(std::env::current_exe().expect("this test binary"))
        .args([
            "--ignored",
            "--exact",
            "rank_program_collectives",
            "--nocapture",
        ])
        .env("PHYSINV_RANK_PROGRAM_COLLECTIVES", "1")
        .output()
        .expect("mpirun starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.matches("collectives ok").count(), 3, "{stdout}");
}

/// The program every rank of [`mpi_collectives_match_the_thread_reference`] runs.
#[test]
#[ignore = "a rank program, started by mpi_collectives_match_the_thread_reference"]
fn rank_program_collectives() {
    if std::env::var_os("PHYSINV_RANK_PROGRAM_COLLECTIVES").is_none() {
        return;
    }
    let started = physinv::processes::launch::start().expect("MPI starts");
    let group = started.processes.as_ref();
    assert_eq!(group.size(), 3);
    let rank = group.rank();
    // Long enough that every rank's chunk of the sum is several elements.
    let mut a = vec![[1e8f32, 1.0, -1e8][rank]; 10];
    group.sum_f32(&mut a);
    assert_eq!(a, vec![(1e8f32 + 1.0) + -1e8; 10]);
    let mut b = [rank as f64 + 0.5];
    group.sum_f64(&mut b);
    assert_eq!(b, [4.5]);
    let mut bytes = vec![rank as u8; rank + 1];
    group.broadcast(2, &mut bytes);
    assert_eq!(bytes, vec![2, 2, 2]);
    assert!(group.any(rank == 1));
    assert!(!group.any(false));
    assert_eq!(group.rank0_value(10.0 + rank as f64), 10.0);
    assert_eq!(
        group.gather_f64(&vec![rank as f64; rank]),
        vec![1.0, 2.0, 2.0]
    );
    assert_eq!(
        group.gather_bytes(&vec![rank as u8; 2 - rank]),
        vec![vec![0, 0], vec![1], vec![]]
    );
    // Nothing on any rank (Open MPI refuses an all-gather of empty buffers).
    assert_eq!(group.gather_bytes(&[]), vec![Vec::<u8>::new(); 3]);
    assert!(group.gather_f64(&[]).is_empty());
    println!("collectives ok");
    drop(started);
}
