//! Figures: files written in both formats, `metrics.csv` parsing and its errors, and bad values
//! (NaN, zero, infinity, empty input) that must not panic.

use physinv::plot::{
    plot_episodes, plot_heatmaps, plot_run, plot_sweep, Format, MetricsTable, SweepPoint,
};
use physinv::Error;
use std::path::{Path, PathBuf};

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Output directory of one test: a fresh temporary directory, or `$PHYSINV_PLOT_DIR/<test>`
/// (kept) to look at the figures.
struct Out {
    _tmp: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Out {
    fn new(test: &str) -> Self {
        match std::env::var_os("PHYSINV_PLOT_DIR") {
            Some(root) => {
                let path = PathBuf::from(root).join(test);
                let _ = std::fs::remove_dir_all(&path);
                std::fs::create_dir_all(&path).unwrap();
                Out { _tmp: None, path }
            }
            None => {
                let tmp = tempfile::tempdir().unwrap();
                let path = tmp.path().to_path_buf();
                Out {
                    _tmp: Some(tmp),
                    path,
                }
            }
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// A `metrics.csv` as `output::write_metrics_csv` writes it: three methods, 12 evaluations each.
fn synthetic_csv() -> String {
    let mut text = String::from(
        "method,split,iteration,wall_s,loss,final_error,x_dist,inverse_failures,inverse_unconverged\n",
    );
    for (method, rate, cost) in [("sip", 0.8, 0.03), ("adam", 0.3, 0.01), ("gd", 0.05, 0.008)] {
        for k in 0..12 {
            let it = k * 50;
            let loss = 0.5 * f64::exp(-rate * k as f64) + 1e-6;
            text.push_str(&format!(
                "{method},validation,{it},{:.6},{loss:.9e},{:.9e},{:.9e},0,0\n",
                it as f64 * cost,
                loss.sqrt(),
                2.0 * loss.sqrt()
            ));
        }
    }
    text
}

/// Asserts that every path exists, is non-empty and has the format its extension names.
fn assert_figures(paths: &[PathBuf]) {
    for p in paths {
        let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(!bytes.is_empty(), "{} is empty", p.display());
        match p.extension().and_then(|e| e.to_str()) {
            Some("png") => assert!(bytes.starts_with(PNG_MAGIC), "{} not a PNG", p.display()),
            Some("svg") => assert!(
                String::from_utf8_lossy(&bytes).contains("<svg"),
                "{} not an SVG",
                p.display()
            ),
            other => panic!("unexpected extension {other:?}"),
        }
    }
}

fn expected(stem: &Path) -> Vec<PathBuf> {
    Format::ALL.iter().map(|f| f.path(stem)).collect()
}

#[test]
fn plot_run_writes_eight_figures() {
    let dir = Out::new("plot_run_writes_eight_figures");
    std::fs::write(dir.path().join("metrics.csv"), synthetic_csv()).unwrap();
    let paths = plot_run(dir.path(), None).unwrap();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut want = Vec::new();
    for stem in [
        "loss_vs_iteration",
        "loss_vs_time",
        "x_dist_vs_iteration",
        "x_dist_vs_time",
    ] {
        want.push(format!("{stem}.png"));
        want.push(format!("{stem}.svg"));
    }
    assert_eq!(names, want);
    assert_figures(&paths);
    let svg = std::fs::read_to_string(dir.path().join("loss_vs_time.svg")).unwrap();
    for text in ["wall-clock time [s]", "sip", "adam", "gd"] {
        assert!(svg.contains(text), "SVG lacks `{text}`");
    }
}

#[test]
fn plot_run_main_metric_choice() {
    let dir = Out::new("plot_run_main_metric_choice");
    std::fs::write(dir.path().join("metrics.csv"), synthetic_csv()).unwrap();
    let paths = plot_run(dir.path(), Some("final_error")).unwrap();
    assert!(paths.contains(&dir.path().join("final_error_vs_time.svg")));
    assert_eq!(paths.len(), 8);

    let err = plot_run(dir.path(), Some("nonexistent")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Config(_)), "{msg}");
    assert!(
        msg.contains("nonexistent") && msg.contains("x_dist"),
        "{msg}"
    );

    // Without x_dist the default main metric is final_error.
    let csv =
        "method,split,iteration,wall_s,loss,final_error,inverse_failures,inverse_unconverged\n\
               dp,test,0,0.0,1.0,2.0,0,0\ndp,test,10,1.5,0.1,0.5,0,0\n";
    std::fs::write(dir.path().join("metrics.csv"), csv).unwrap();
    let paths = plot_run(dir.path(), None).unwrap();
    assert!(paths.contains(&dir.path().join("final_error_vs_iteration.png")));
    assert_figures(&paths);
}

#[test]
fn metrics_table_parses_header_and_rows() {
    let dir = Out::new("metrics_table_parses_header_and_rows");
    let path = dir.path().join("metrics.csv");
    std::fs::write(&path, synthetic_csv()).unwrap();
    let table = MetricsTable::read(&path).unwrap();
    assert_eq!(
        table.metric_names,
        [
            "loss",
            "final_error",
            "x_dist",
            "inverse_failures",
            "inverse_unconverged"
        ]
    );
    assert_eq!(table.rows.len(), 36);
    assert_eq!(table.methods(), ["sip", "adam", "gd"]);
    let row = &table.rows[13];
    assert_eq!(row.method, "adam");
    assert_eq!(row.iteration, 50);
    assert!((row.wall_s - 0.5).abs() < 1e-9);
    assert_eq!(row.values.len(), 5);
    assert_eq!(table.metric_index("x_dist"), Some(2));
}

#[test]
fn metrics_table_rejects_malformed_rows_naming_the_line() {
    let header = "method,split,iteration,wall_s,loss,inverse_failures,inverse_unconverged\n";
    let cases = [
        // Too few fields on line 3.
        (
            format!("{header}sip,test,0,0.0,1.0,0,0\nsip,test,1,0.1,0.5,0\n"),
            ":3:",
        ),
        // Not a number on line 2.
        (format!("{header}sip,test,0,0.0,abc,0,0\n"), ":2:"),
        // Negative iteration on line 4 (blank line 3 still counts).
        (
            format!("{header}sip,test,0,0.0,1.0,0,0\n\nsip,test,-1,0.1,0.5,0,0\n"),
            ":4:",
        ),
        // Bad header.
        ("iteration,method,wall_s\n".to_string(), ":1:"),
    ];
    for (text, line) in cases {
        let err = MetricsTable::parse(&text, Path::new("runs/x/metrics.csv")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Config(_)), "{msg}");
        assert!(
            msg.contains(&format!("runs/x/metrics.csv{line}")),
            "`{msg}` should name line {line}"
        );
    }
    let err = MetricsTable::parse("", Path::new("m.csv")).unwrap_err();
    assert!(err.to_string().contains("m.csv"));

    let missing = MetricsTable::read(Path::new("/nonexistent/metrics.csv")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
}

#[test]
fn bad_values_do_not_panic() {
    let dir = Out::new("bad_values_do_not_panic");
    let csv = "method,split,iteration,wall_s,loss,final_error\n\
               a,test,0,0.0,NaN,0\n\
               a,test,1,0.1,0,-1\n\
               a,test,2,0.2,inf,1e-3\n\
               a,test,3,0.3,1e-2,\n\
               b,test,0,0.0,0,0\n";
    std::fs::write(dir.path().join("metrics.csv"), csv).unwrap();
    assert_figures(&plot_run(dir.path(), None).unwrap());

    // Header only: figures with a note.
    std::fs::write(
        dir.path().join("metrics.csv"),
        "method,split,iteration,wall_s,loss,final_error\n",
    )
    .unwrap();
    assert_figures(&plot_run(dir.path(), None).unwrap());

    let points = [
        SweepPoint {
            value: 1.0,
            method: "sip".into(),
            metric: f64::NAN,
        },
        SweepPoint {
            value: 0.0,
            method: "sip".into(),
            metric: 0.0,
        },
        SweepPoint {
            value: f64::INFINITY,
            method: "adam".into(),
            metric: 1.0,
        },
    ];
    let stem = dir.path().join("sweep_bad");
    assert_figures(&plot_sweep(&stem, "ξ", "x_dist", &points, true).unwrap());
    assert_figures(
        &plot_sweep(&dir.path().join("sweep_empty"), "ξ", "x_dist", &[], false).unwrap(),
    );

    let scenes = vec![(
        vec![
            vec![f64::NAN, 1.0],
            vec![0.0, f64::INFINITY],
            vec![1e300, 2.0],
        ],
        vec![vec![f64::NAN], vec![0.0]],
        vec![0.0, f64::NAN],
    )];
    assert_figures(&plot_episodes(&dir.path().join("ep_bad"), "bad", 0.5, &scenes).unwrap());
    assert_figures(&plot_episodes(&dir.path().join("ep_empty"), "none", 0.5, &[]).unwrap());

    let panels = [
        ("uncontrolled", vec![vec![f64::NAN, 0.0], vec![0.0, 0.0]]),
        ("target", vec![vec![]]),
        ("force", vec![]),
    ];
    assert_figures(&plot_heatmaps(&dir.path().join("hm_bad"), "bad", 0.03, &panels).unwrap());
    assert_figures(&plot_heatmaps(&dir.path().join("hm_empty"), "none", 0.03, &[]).unwrap());
}

#[test]
fn sweep_writes_figures() {
    let dir = Out::new("sweep_writes_figures");
    let mut points = Vec::new();
    for xi in [1.0, 3.0, 5.0, 10.0, 20.0, 32.0, 48.0, 64.0] {
        points.push(SweepPoint {
            value: xi,
            method: "sip".into(),
            metric: 1e-2 * (1.0 + 0.01 * xi),
        });
        points.push(SweepPoint {
            value: xi,
            method: "adam".into(),
            metric: 1e-3 * xi * xi,
        });
    }
    let stem = dir.path().join("sweeps").join("xi");
    let paths = plot_sweep(&stem, "ξ", "x_dist/ξ", &points, false).unwrap();
    assert_eq!(paths, expected(&stem));
    assert_figures(&paths);
    // A single point: degenerate x and y ranges.
    let one = [SweepPoint {
        value: 45.0,
        method: "sip".into(),
        metric: 0.1,
    }];
    assert_figures(&plot_sweep(&dir.path().join("one"), "φ [°]", "x_dist", &one, false).unwrap());
}

fn oscillator_scene(seed: f64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>) {
    let steps = 24;
    let s0 = vec![0.2 + seed, 0.7, 0.4 - seed, 0.1];
    let states = (0..=steps)
        .map(|t| {
            let f = t as f64 / steps as f64;
            s0.iter()
                .enumerate()
                .map(|(i, v)| v * (1.0 - f) * (1.0 + f * (i as f64 + 1.0)).cos() + f * v)
                .collect()
        })
        .collect();
    let controls = (0..steps)
        .map(|t| vec![(t as f64 * 0.4).sin() * 0.3])
        .collect();
    (states, controls, s0)
}

#[test]
fn episodes_write_figures_and_check_shapes() {
    let dir = Out::new("episodes_write_figures_and_check_shapes");
    let scenes = vec![oscillator_scene(0.0), oscillator_scene(0.3)];
    let stem = dir.path().join("episodes");
    let paths = plot_episodes(&stem, "coupled oscillators: test scenes", 0.5, &scenes).unwrap();
    assert_eq!(paths, expected(&stem));
    assert_figures(&paths);

    let mut bad = oscillator_scene(0.0);
    bad.2.pop();
    let err = plot_episodes(&stem, "bad", 0.5, &[bad]).unwrap_err();
    assert!(matches!(err, Error::DimensionMismatch { .. }), "{err}");
    let err = plot_episodes(&stem, "bad", 0.0, &scenes).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[test]
fn heatmaps_write_figures() {
    let dir = Out::new("heatmaps_write_figures");
    let (cells, steps, dt) = (32, 32, 0.03);
    let x = |i: usize| (i as f64 + 0.5) / cells as f64;
    let clash = |t: usize, damp: f64| -> Vec<f64> {
        (0..cells)
            .map(|i| {
                let decay = f64::exp(-damp * t as f64);
                decay
                    * (2.0 * f64::exp(-((x(i) - 0.3) / 0.1).powi(2))
                        - 1.5 * f64::exp(-((x(i) - 0.7) / 0.1).powi(2)))
            })
            .collect()
    };
    let uncontrolled: Vec<_> = (0..=steps).map(|t| clash(t, 0.02)).collect();
    let controlled: Vec<_> = (0..=steps).map(|t| clash(t, 0.08)).collect();
    let target = vec![clash(steps, 0.08)];
    let force: Vec<_> = (0..steps)
        .map(|t| {
            (0..cells)
                .map(|i| 0.3 * ((x(i) - 0.5) * 6.0).sin() * t as f64 / steps as f64)
                .collect()
        })
        .collect();
    let panels = [
        ("uncontrolled", uncontrolled),
        ("controlled", controlled),
        ("target", target),
        ("force", force),
    ];
    let stem = dir.path().join("burgers");
    let paths = plot_heatmaps(&stem, "Burgers: scene 0", dt, &panels).unwrap();
    assert_eq!(paths, expected(&stem));
    assert_figures(&paths);
    for dt in [f64::NAN, -0.1, 1e307] {
        let err = plot_heatmaps(&stem, "bad", dt, &panels).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }
}

#[test]
fn unwritable_path_is_an_io_error() {
    let dir = Out::new("unwritable_path_is_an_io_error");
    let file = dir.path().join("a_file");
    std::fs::write(&file, "x").unwrap();
    // A directory cannot be created below a regular file.
    let err = plot_sweep(&file.join("sub").join("fig"), "p", "m", &[], false).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

/// Runs of different methods (trained in separate processes) plot as one: the metric columns
/// are joined, a column one run lacks is empty for its rows, the merged table reads back as
/// itself, and a method in two runs is refused.
#[test]
fn runs_of_different_methods_plot_together() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |name: &str, text: &str| {
        let run = dir.path().join(name);
        std::fs::create_dir_all(&run).expect("run directory");
        std::fs::write(run.join("metrics.csv"), text).expect("metrics.csv");
        run
    };
    let sip = write(
        "sip",
        "method,split,iteration,wall_s,loss,x_mae,residual_ratio\n\
         SIP,validation,0,0.0,4.0,500.0,\n\
         SIP,validation,25,10.0,2.0,300.0,1e-7\n",
    );
    let adam = write(
        "adam",
        "method,split,iteration,wall_s,loss,x_mae,grad_norm\n\
         Adam,validation,0,0.0,4.0,500.0,\n\
         Adam,validation,25,9.0,3.0,400.0,2.5\n",
    );
    let out = dir.path().join("both");
    let files = physinv::plot::plot_runs(&[sip.clone(), adam.clone()], &out, None).expect("plots");
    assert!(
        files.iter().any(|f| f.ends_with("x_mae_vs_time.png")),
        "{files:?}"
    );
    let merged = MetricsTable::read(&out.join("metrics.csv")).expect("merged table");
    assert_eq!(
        merged.metric_names,
        ["loss", "x_mae", "residual_ratio", "grad_norm"]
    );
    assert_eq!(merged.methods(), ["SIP", "Adam"]);
    let adam_last = &merged.rows[3];
    assert_eq!(adam_last.values[..2], [3.0, 400.0]);
    assert!(adam_last.values[2].is_nan());
    assert_eq!(adam_last.values[3], 2.5);
    let text = merged.to_csv();
    let again = MetricsTable::parse(&text, Path::new("again.csv")).expect("reads back");
    assert_eq!(again.to_csv(), text);
    let err = physinv::plot::plot_runs(&[sip.clone(), sip], &out, None).unwrap_err();
    assert!(err.to_string().contains("method 'SIP' is in both"), "{err}");
}
