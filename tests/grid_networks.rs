//! The grid kinds `UNet` and `ResNet` through the network interface: the paper's U-Net has
//! 37,697 parameters on a 1 × 64 × 64 grid, the output has the grid's shape, network files
//! and exported safetensors carry the running averages of batch norm, and a closed-loop
//! Burgers controller (a residual CNN with batch norm on the state and target as two
//! channels) trains with BPTT, checkpoints and resumes to the same parameters and running
//! averages. Gradients against central differences and thread-count independence are the
//! unit tests of `net::grid` and `net::conv`.

mod common;
use nalgebra::DMatrix;
use physinv::layout::{Boundary, Component, Grid, Layout};
use physinv::net::{io, Network, NetworkIo, Networks, Port};
use physinv::train::trainer::Silent;
use physinv::train::{Checkpoint, TrainControl, Trainer};

fn grid(channels: usize, n: usize, boundary: Boundary) -> Port {
    Port::of(&Layout::Grid(Grid {
        channels: (0..channels)
            .map(|c| Component::new(format!("x{c}"), "1"))
            .collect(),
        ny: n,
        nx: n,
        cell_size: 1.0,
        length_unit: "m".into(),
        boundary,
    }))
}

fn build(text: &str, io: &NetworkIo, seed: u64) -> Box<dyn Network> {
    let spec = Networks::builtin().parse(text).expect("parses");
    spec.check(io).expect("checks");
    spec.build(io, seed).expect("builds")
}

/// PhiFlow's `u_net(1, 1)` as the paper used it: 37,697 parameters, the memory estimate's
/// count too, an output of the input grid's shape, and PyTorch-style tensor names.
#[test]
fn the_papers_unet_has_37697_parameters() {
    let io = NetworkIo {
        input: grid(1, 64, Boundary::Bounded),
        output: grid(1, 64, Boundary::Bounded),
    };
    let text = "UNet(levels: 4, filters: 16, norm: batch, activation: relu, padding: zero)";
    let net = build(text, &io, 0);
    assert_eq!(net.num_parameters(), 37_697);
    let spec = Networks::builtin().parse(text).unwrap();
    assert_eq!(spec.size(&io).parameters, 37_697);
    // The defaults are the paper's settings.
    assert_eq!(build("UNet()", &io, 0).num_parameters(), 37_697);
    let x = DMatrix::from_fn(4096, 2, |i, b| ((i + 3 * b) as f64 * 0.01).sin());
    let y = net.forward(&x);
    assert_eq!((y.nrows(), y.ncols()), (4096, 2));
    let names = net.tensor_names();
    assert_eq!(
        names[0],
        ("down.0.0.conv.weight".to_string(), vec![16, 1, 3, 3])
    );
    assert_eq!(names.last().unwrap().1, vec![1]);
    assert_eq!(net.statistic_names().len(), 2 * 14);
    assert_eq!(net.architecture().io(), io);
    // A grid that 3 halvings do not divide, and a flat input, are refused with a reason.
    let odd = NetworkIo {
        input: grid(1, 36, Boundary::Bounded),
        output: grid(1, 36, Boundary::Bounded),
    };
    let error = spec.check(&odd).unwrap_err();
    assert_eq!(error.field, "levels");
    let flat = spec.check(&NetworkIo::flat(4096, 4096)).unwrap_err();
    assert!(flat.message.contains("grid input"), "{}", flat.message);
}

/// A network file keeps the parameters and the running averages exactly; the safetensors
/// export holds both.
#[test]
fn grid_networks_save_load_and_export_their_running_averages() {
    let io = NetworkIo {
        input: grid(2, 8, Boundary::Periodic),
        output: grid(1, 8, Boundary::Periodic),
    };
    let text = "UNet(levels: 2, filters: 4, padding: periodic)";
    let mut net = build(text, &io, 1);
    let x = DMatrix::from_fn(128, 3, |i, b| ((i * 5 + b) as f64 * 0.1).cos());
    net.forward(&x);
    net.update_statistics();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unet.net");
    io::save(net.as_ref(), &path).expect("saves");
    let mut loaded = build(text, &io, 2);
    assert_ne!(loaded.parameters(), net.parameters());
    io::load_into(&path, loaded.as_mut()).expect("loads");
    assert_eq!(loaded.parameters(), net.parameters());
    assert_eq!(loaded.statistics(), net.statistics());
    let evaluate = |n: &dyn Network| n.for_evaluation().expect("batch norm").forward(&x);
    assert_eq!(evaluate(loaded.as_ref()), evaluate(net.as_ref()));
    let mut resnet = build("ResNet()", &io, 0);
    assert!(io::load_into(&path, resnet.as_mut()).is_err());

    let tensors = physinv::export::network::tensors(net.as_ref());
    let mean = tensors
        .iter()
        .find(|t| t.name == "down.0.0.norm.running_mean")
        .expect("exported");
    assert_eq!(mean.values, net.statistics()[..4]);
}

/// A closed-loop Burgers scenario whose network is a residual CNN with batch norm on the
/// state and the target (two channels of one periodic 1 × 32 grid).
fn burgers(iterations: usize) -> physinv::scenario::Scenario {
    common::scenario(&format!(
        r#"(
    name: "burgers-cnn",
    simulator: (name: "burgers", params: (cells: 32, viscosity: 0.003, dt: 0.03)),
    episode: (steps: 8, policy: ClosedLoop, observe: [State, Target]),
    data: (seed: 0, scenes: Generator("gaussian_clash"), train: Fresh, test_count: 4, validation_count: 4),
    objective: (force_weight: 1e-4),
    network: ResNet(blocks: 1, filters: 4, norm: batch, padding: periodic),
    methods: [(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 3e-3))],
    training: (batch: 4, iterations: {iterations}, log_every: 2, seed: 0),
)"#
    ))
}

/// Trained 4 iterations straight, or 2, checkpointed and resumed to 4: the same last
/// parameters and running averages (which moved), the same chosen network and test metrics
/// (the evaluation uses the running averages).
#[test]
fn a_grid_network_trains_checkpoints_and_resumes_exactly() {
    let (full, half) = (burgers(4), burgers(2));
    let line = Grid::line(
        Component::new("u", "m/s"),
        32,
        1.0 / 32.0,
        "m",
        Boundary::Periodic,
    );
    let two = Layout::Grid(Grid {
        channels: vec![line.channels[0].clone(); 2],
        ..line
    });
    assert_eq!(full.network_io().input, Port::of(&two));
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |scenario, name: &str, resume: Option<Checkpoint>| {
        let path = dir.path().join(name);
        let control = TrainControl {
            checkpoint_path: Some(path.clone()),
            resume,
            ..TrainControl::default()
        };
        let outcome = Trainer::new(scenario)
            .unwrap()
            .train_with(0, &mut Silent, &control)
            .unwrap();
        (outcome, Checkpoint::load(&path).expect("checkpoint"))
    };
    let (straight, last) = run(&full, "straight.json", None);
    let initial = full.build_network(full.spec.training.seed).unwrap();
    assert_eq!(last.statistics.len(), initial.statistics().len());
    assert_ne!(
        last.statistics,
        initial.statistics(),
        "the running averages moved"
    );
    let (_, halfway) = run(&half, "half.json", None);
    let (resumed, resumed_last) = run(&full, "resumed.json", Some(halfway));
    assert_eq!(resumed_last.parameters, last.parameters);
    assert_eq!(resumed_last.statistics, last.statistics);
    assert_eq!(straight.net.parameters(), resumed.net.parameters());
    assert_eq!(straight.net.statistics(), resumed.net.statistics());
    assert_eq!(straight.metrics, resumed.metrics);
}
