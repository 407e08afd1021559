//! Data-parallel training through the process-group interface: a run split over two ranks
//! (threads of this process, `processes::ThreadRanks`, each with half of every batch and of
//! every evaluation) ends with the parameters and metrics of one process with the whole batch,
//! within summation order; every rank ends with the same parameters bit for bit; a rule that
//! cannot be split says so on every rank instead of waiting.

mod common;

use physinv::processes::{ProcessGroup, ThreadRanks};
use physinv::scenario::Scenario;
use physinv::train::trainer::Silent;
use physinv::train::{TrainControl, TrainOutcome, Trainer};
use std::sync::Arc;

/// Closed-loop point mass (SIP and BPTT) with `methods`, batch 16, `iterations` iterations.
fn point_mass(methods: &str, iterations: usize) -> Scenario {
    common::scenario(&format!(
        r#"(
    name: "pm_ranks",
    simulator: (name: "point_mass"),
    episode: (steps: 12, policy: ClosedLoop, observe: [State, Target, Time]),
    data: (seed: 5, scenes: Sampled(
        initial: Uniform(low: [-1.0, -1.0, -0.5, -0.5], high: [1.0, 1.0, 0.5, 0.5]),
        target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])),
        test_count: 20, validation_count: 15),
    network: Mlp(hidden: [16, 16], activation: tanh),
    methods: [{methods}],
    training: (batch: 16, iterations: {iterations}, log_every: 5, cosine_every: 5, seed: 0),
)"#
    ))
}

/// Method `index` of `scenario` trained on every rank of a group of `size` threads.
fn on_ranks(scenario: &Scenario, index: usize, size: usize) -> Vec<physinv::Result<TrainOutcome>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = ThreadRanks::group(size)
            .into_iter()
            .map(|rank| {
                s.spawn(move || {
                    let control = TrainControl {
                        processes: Some(Arc::new(rank) as Arc<dyn ProcessGroup>),
                        ..TrainControl::default()
                    };
                    Trainer::new(scenario)?.train_with(index, &mut Silent, &control)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("rank thread"))
            .collect()
    })
}

/// Largest |a − b| relative to the largest |a|.
fn relative_gap(a: &[f32], b: &[f32]) -> f64 {
    let scale = a.iter().fold(0f64, |m, x| m.max(x.abs() as f64)).max(1e-30);
    a.iter()
        .zip(b)
        .fold(0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()))
        / scale
}

/// Two ranks with half the batch each train SIP (with its diagnostics reduced over the ranks)
/// and BPTT to the parameters of one process with the whole batch: the differences are those
/// of the gradient's summation order (the two halves are added last), well below 1e-4 of the
/// parameters after 10 Adam steps; the metrics agree to 1e-5; the ranks agree bit for bit.
#[test]
fn two_ranks_train_like_one_process_with_the_whole_batch() {
    let scenario = point_mass(
        r#"(name: "SIP", update: Sip(inverse: Episode()), optimizer: Adam(lr: 1e-2)),
           (name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))"#,
        10,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    for index in 0..2 {
        let single = trainer.train(index, &mut Silent).expect("one process");
        let ranks: Vec<TrainOutcome> = on_ranks(&scenario, index, 2)
            .into_iter()
            .map(|r| r.expect("rank trains"))
            .collect();
        let params = single.net.parameters();
        assert_eq!(ranks[0].net.parameters(), ranks[1].net.parameters());
        let gap = relative_gap(&params, &ranks[0].net.parameters());
        assert!(gap < 1e-4, "method {index}: parameters differ by {gap:e}");
        assert_eq!(single.iterations, ranks[0].iterations);
        assert_eq!(single.log.len(), ranks[0].log.len());
        for (a, b) in single.log.iter().zip(&ranks[0].log) {
            assert_eq!(a.split, b.split);
            assert_eq!(a.iteration, b.iteration);
            for ((name, x), (_, y)) in a.metrics.iter().zip(b.metrics.iter()) {
                assert!(
                    (x - y).abs() <= 1e-5 * x.abs().max(1e-12),
                    "method {index} iteration {}: {name} {x} vs {y}",
                    a.iteration
                );
            }
            for ((name, x), (_, y)) in a.diagnostics.iter().zip(b.diagnostics.iter()) {
                if name != "grad_norm" && name != "cosine_bptt" {
                    // Residual ratios are round-off (~1e-15): compared absolutely there.
                    assert!(
                        (x - y).abs() <= 1e-6 * x.abs() + 1e-12,
                        "method {index}: diagnostic {name} {x} vs {y}"
                    );
                }
            }
        }
        assert_eq!(single.selected_iteration, ranks[0].selected_iteration);
        assert_eq!(single.stats, ranks[0].stats);
    }
}

/// HIG and Gauss-Newton take one SVD over the whole batch: each rank computes its episodes'
/// Jacobian rows, the rows are gathered in rank order, and every rank takes the same step.
/// Two ranks end with one process's parameters within the rounding of the network passes on
/// half the batch (the kept spectrum, truncated at 1e-6, spans at most 1e6), and bit for bit
/// with each other.
#[test]
fn hig_and_gauss_newton_gather_their_jacobian_rows_over_the_ranks() {
    let scenario = point_mass(
        r#"(name: "HIG", update: Hig(truncation: 1e-6), optimizer: Sgd(lr: 1.0), batch: 8),
           (name: "GN", update: GaussNewton(truncation: 1e-6), optimizer: Sgd(lr: 0.3), batch: 8)"#,
        4,
    );
    let trainer = Trainer::new(&scenario).expect("trainer");
    for index in 0..2 {
        let single = trainer.train(index, &mut Silent).expect("one process");
        let ranks: Vec<TrainOutcome> = on_ranks(&scenario, index, 2)
            .into_iter()
            .map(|r| r.expect("rank trains"))
            .collect();
        let gap = relative_gap(&single.net.parameters(), &ranks[0].net.parameters());
        assert!(gap < 1e-4, "method {index}: parameters differ by {gap:e}");
        assert_eq!(ranks[0].net.parameters(), ranks[1].net.parameters());
    }
}

/// A batch smaller than the number of ranks is refused before training, on every rank.
#[test]
fn more_ranks_than_episodes_is_an_error() {
    let scenario = point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2), batch: 2)"#,
        2,
    );
    for result in on_ranks(&scenario, 0, 3) {
        let err = result.expect_err("3 ranks, 2 episodes");
        assert!(
            err.to_string().contains("cannot be split over 3 processes"),
            "{err}"
        );
    }
}

/// A group whose rank 1 receives slightly different gradient sums (a faulty transport).
#[derive(Debug)]
struct Faulty(ThreadRanks);

impl ProcessGroup for Faulty {
    fn rank(&self) -> usize {
        self.0.rank()
    }
    fn size(&self) -> usize {
        self.0.size()
    }
    fn sum_f32(&self, values: &mut [f32]) {
        self.0.sum_f32(values);
        if self.rank() == 1 {
            values[0] += 1e-3;
        }
    }
    fn sum_f64(&self, values: &mut [f64]) {
        self.0.sum_f64(values);
    }
    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        self.0.broadcast(root, bytes);
    }
}

/// Ranks whose parameters drift apart stop together at the next check (every `log_every`
/// iterations) with the error that says so, instead of training different networks.
#[test]
fn ranks_whose_parameters_drift_apart_stop_with_an_error() {
    let scenario = point_mass(
        r#"(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))"#,
        10,
    );
    let results: Vec<physinv::Result<TrainOutcome>> = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadRanks::group(2)
            .into_iter()
            .map(|rank| {
                let scenario = &scenario;
                s.spawn(move || {
                    let control = TrainControl {
                        processes: Some(Arc::new(Faulty(rank)) as Arc<dyn ProcessGroup>),
                        ..TrainControl::default()
                    };
                    Trainer::new(scenario)?.train_with(0, &mut Silent, &control)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("rank"))
            .collect()
    });
    for result in results {
        let err = result.expect_err("the ranks drifted");
        assert!(
            matches!(err, physinv::Error::Drifted { iteration: 5, .. }),
            "{err}"
        );
    }
}

/// A network with batch norm: every rank folds the batch statistics of the whole batch, so the
/// ranks' running averages stay equal to each other bit for bit. Against one process: each
/// rank's passes normalise its own half of the batch (batch statistics are not synchronised
/// inside a pass), so only the first batch-norm layer, whose input no normalisation has
/// touched, records the same statistics after one step (to f32 rounding: two halves are
/// combined instead of one batch); the rest agree to 1e-3.
#[test]
fn batch_norm_statistics_are_folded_over_the_whole_batch() {
    let scenario = |iterations: usize| {
        common::scenario(&format!(
            r#"(
    name: "bn_ranks",
    simulator: (name: "heat2d", params: (cells: 8, amount: 0.5)),
    episode: (steps: 1, observe: [Target]),
    data: (seed: 3, scenes: Generator("boxes"), train: Fresh, test_count: 8, validation_count: 8),
    network: UNet(levels: 2, filters: 4, norm: batch, activation: relu, padding: zero),
    methods: [(name: "Adam", update: Bptt(), optimizer: Adam(lr: 1e-3))],
    training: (batch: 32, iterations: {iterations}, log_every: {iterations}, seed: 0),
)"#
        ))
    };
    for iterations in [1, 3] {
        let scenario = scenario(iterations);
        let single = Trainer::new(&scenario)
            .expect("trainer")
            .train(0, &mut Silent)
            .expect("one process");
        let ranks: Vec<TrainOutcome> = on_ranks(&scenario, 0, 2)
            .into_iter()
            .map(|r| r.expect("rank trains"))
            .collect();
        let (a, b) = (ranks[0].net.statistics(), ranks[1].net.statistics());
        assert!(!a.is_empty());
        assert_eq!(a, b, "ranks' running averages differ");
        let initial = Trainer::new(&scenario)
            .expect("trainer")
            .initial_network()
            .expect("net")
            .statistics();
        assert_ne!(a, initial, "the running averages did not move");
        let one = single.net.statistics();
        if iterations == 1 {
            // The first layer: 4 means and 4 variances.
            let gap = relative_gap(&one[..8], &a[..8]);
            assert!(gap < 1e-6, "first layer differs by {gap:e}");
        }
        let gap = relative_gap(&one, &a);
        assert!(gap < 1e-3, "running averages differ by {gap:e}");
    }
}
