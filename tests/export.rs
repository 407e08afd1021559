//! `physinv export`: the networks of a run as safetensors and their test episodes as `.npz`,
//! read back independently (the safetensors crate; the zip archive and the `.npy` header
//! parsed here) and compared with the checkpoint and a fresh rollout.

use clap::Parser as _;
use physinv::cli::{run_with, Cli};
use physinv::episode::rollout;
use physinv::net::Network;
use physinv::run::{run_scenario, RunOptions};
use physinv::scenario::Scenario;
use physinv::train::trainer::Silent;
use physinv::train::{Checkpoint, Trainer};
use physinv::Registry;
use std::io::Read as _;
use std::path::Path;

const SCENARIO: &str = r#"(
    name: "export_pm",
    simulator: (name: "point_mass"),
    episode: (steps: 6, policy: ClosedLoop, observe: [State, Target, Time], control_scale: 2.0),
    data: (seed: 3, scenes: Sampled(
        initial: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0]),
        target: Uniform(low: [-1.0, -1.0, 0.0, 0.0], high: [1.0, 1.0, 0.0, 0.0])),
        test_count: 5, validation_count: 4),
    network: Mlp(hidden: [8, 8], activation: tanh),
    methods: [(name: "BPTT", update: Bptt(), optimizer: Adam(lr: 1e-2))],
    training: (batch: 8, iterations: 10, log_every: 5, seed: 0),
)"#;

/// An `.npy` array read back: shape and little-endian `f64` values.
struct Npy {
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// Parses an `.npy` version 1.0 file of `'<f8'` values in C order.
fn parse_npy(bytes: &[u8]) -> Npy {
    assert_eq!(&bytes[..6], b"\x93NUMPY", "magic");
    assert_eq!(&bytes[6..8], [1, 0], "version 1.0");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let start = 10 + header_len;
    assert_eq!(start % 64, 0, "data aligned to 64 bytes");
    let header = std::str::from_utf8(&bytes[10..start]).expect("ASCII header");
    assert!(header.contains("'descr': '<f8'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let tuple = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("shape");
    let shape: Vec<usize> = tuple
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().expect("dimension"))
        .collect();
    let values: Vec<f64> = bytes[start..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(values.len(), shape.iter().product::<usize>());
    Npy { shape, values }
}

fn read_npz(path: &Path) -> std::collections::HashMap<String, Npy> {
    let file = std::fs::File::open(path).expect("npz");
    let mut archive = zip::ZipArchive::new(file).expect("a zip archive");
    let mut arrays = std::collections::HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let full = entry.name().expect("entry name").to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        match full.strip_suffix(".npy") {
            Some(name) => {
                arrays.insert(name.to_string(), parse_npy(&bytes));
            }
            // The layouts of states, controls and network inputs, as JSON.
            None => {
                assert_eq!(full, "layout.json");
                let layouts: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
                for key in ["state", "control", "network_input", "network_output"] {
                    assert!(layouts.get(key).is_some(), "layout.json has {key}");
                }
            }
        }
    }
    arrays
}

#[test]
fn export_writes_safetensors_and_npz_that_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("export_pm.ron");
    std::fs::write(&file, SCENARIO).expect("write scenario");
    let registry = Registry::with_builtins();
    let scenario = Scenario::load_with(&file, &registry).expect("scenario");
    let run = dir.path().join("run");
    let options = RunOptions {
        out_dir: Some(run.clone()),
        ..RunOptions::default()
    };
    run_scenario(&scenario, &options, &mut Silent).expect("trains");
    let out = dir.path().join("exported");
    let args = [
        "physinv",
        "--quiet",
        "export",
        run.to_str().expect("utf-8"),
        "--scenario",
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ];
    run_with(Cli::try_parse_from(args).expect("parses"), &registry).expect("exports");

    let checkpoint = Checkpoint::load(&run.join("checkpoints/BPTT.json")).expect("checkpoint");
    let best = checkpoint.best.as_ref().expect("validation keeps the best");

    let bytes = std::fs::read(out.join("BPTT.safetensors")).expect("safetensors");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let widths = [checkpoint.network.inputs, 8, 8, checkpoint.network.outputs];
    let mut offset = 0;
    for k in 0..widths.len() - 1 {
        for (part, shape) in [
            ("weight", vec![widths[k + 1], widths[k]]),
            ("bias", vec![widths[k + 1]]),
        ] {
            let t = tensors
                .tensor(&format!("layers.{k}.{part}"))
                .expect("tensor");
            assert_eq!(t.dtype(), safetensors::Dtype::F32);
            assert_eq!(t.shape(), shape.as_slice());
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            let count = values.len();
            assert_eq!(
                values,
                best.parameters[offset..offset + count],
                "layers.{k}.{part}"
            );
            offset += count;
        }
    }
    assert_eq!(offset, best.parameters.len());
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).expect("header");
    let metadata = header.metadata().as_ref().expect("metadata");
    assert_eq!(metadata["widths"], "[9,8,8,2]");
    assert_eq!(metadata["activation"], "tanh");
    assert_eq!(metadata["output_activation"], "identity");
    assert_eq!(metadata["control_scale"], "[2.0,2.0]");
    assert_eq!(metadata["observe"], r#"["State","Target","Time"]"#);
    assert_eq!(metadata["selected"], "best validation");
    assert_eq!(metadata["iteration"], best.iteration.to_string());

    let arrays = read_npz(&out.join("BPTT_episodes.npz"));
    let (states, controls, targets) = (&arrays["states"], &arrays["controls"], &arrays["targets"]);
    assert_eq!(states.shape, [5, 7, 4]);
    assert_eq!(controls.shape, [5, 6, 2]);
    assert_eq!(targets.shape, [5, 4]);
    let trainer = Trainer::new(&scenario).expect("trainer");
    let mut net = scenario.build_network(0).expect("net");
    net.set_parameters(&best.parameters).expect("parameters");
    let ctx = trainer.context();
    let episodes = rollout(ctx.physics, ctx.policy, &net, trainer.test_scenes()).expect("rollout");
    for (b, scene) in trainer.test_scenes().iter().enumerate() {
        assert_eq!(&targets.values[b * 4..b * 4 + 4], scene.target.as_slice());
        for t in 0..=6 {
            let at = (b * 7 + t) * 4;
            assert_eq!(&states.values[at..at + 4], episodes.states[b][t].as_slice());
        }
        for t in 0..6 {
            let at = (b * 6 + t) * 2;
            assert_eq!(
                &controls.values[at..at + 2],
                episodes.controls[b][t].as_slice()
            );
        }
    }
}

#[test]
fn export_without_a_scenario_writes_the_network_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario =
        Scenario::parse(SCENARIO, Path::new("<test>"), &Registry::with_builtins()).expect("ok");
    let run = dir.path().join("run");
    let options = RunOptions {
        out_dir: Some(run.clone()),
        ..RunOptions::default()
    };
    run_scenario(&scenario, &options, &mut Silent).expect("trains");
    let checkpoint = run.join("checkpoints/BPTT.json");
    let args = [
        "physinv",
        "--quiet",
        "export",
        checkpoint.to_str().expect("utf-8"),
    ];
    physinv::cli::run(Cli::try_parse_from(args).expect("parses")).expect("exports");
    let exported: Vec<String> = std::fs::read_dir(run.join("export"))
        .expect("default output beside checkpoints/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(exported, ["BPTT.safetensors"]);

    let missing = ["physinv", "export", dir.path().to_str().expect("utf-8")];
    let error = physinv::cli::run(Cli::try_parse_from(missing).expect("parses"))
        .expect_err("no checkpoints");
    assert!(
        physinv::cli::error_text(&error).contains("nor a run directory with checkpoints/"),
        "{error:#}"
    );
}
