//! The documentation cannot drift from the code:
//! - `docs/scenarios.md` has a row for every field and variant of the scenario format, read
//!   from the parser itself (serde's list of expected names when it meets an unknown one);
//! - every reference in the repository points at a document inside it, every
//!   `method.md §x.y` at a section that exists, and every relative link in the Markdown
//!   files at a file (and heading) that exists.

use physinv::inverse::settings::{ChainSpec, EpisodeInverseSpec, LinearSolver};
use physinv::inverse::InverseMethod;
use physinv::net::linear::LinearParams;
use physinv::net::mlp::MlpParams;
use physinv::net::{Activation, OptimizerConfig};
use physinv::scenario::schema::{
    DataSpec, EpisodeSpec, InitialSpec, LrDecay, MethodSpec, ObjectiveSpec, Observation,
    PolicyKind, ProxyInputs, ScenarioSpec, SceneSource, Selection, SimulatorSpec, SipInverse,
    TargetSpec, TrainSet, TrainingSpec,
};
use physinv::sim::anisotropic_point_mass::AnisotropicPointMassParams;
use physinv::sim::burgers::BurgersParams;
use physinv::sim::heat1d::Heat1dParams;
use physinv::sim::heat2d::Heat2dParams;
use physinv::sim::heat2d_control::Heat2dControlParams;
use physinv::sim::oscillators::OscillatorsParams;
use physinv::sim::pendulum::PendulumParams;
use physinv::sim::point_mass::PointMassParams;
use physinv::sim::poisson2d::Poisson2dParams;
use physinv::sim::rotating_sine::RotatingSineParams;
use physinv::train::bptt::BpttSpec;
use physinv::train::hig::{GaussNewtonSpec, HigSpec};
use physinv::train::sip::SipSpec;
use physinv::Registry;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const UNKNOWN: &str = "zz_not_a_name";

/// The names serde expects where `text` puts an unknown one: the fields of a struct (or of a
/// struct variant), or the variants of an enum.
fn expected<T: DeserializeOwned>(text: &str) -> Vec<String> {
    match ron::from_str::<T>(text) {
        Ok(_) => panic!("{text} parsed: the type does not reject unknown names"),
        Err(e) => match e.code {
            ron::Error::NoSuchStructField { expected, .. }
            | ron::Error::NoSuchEnumVariant { expected, .. } => {
                expected.iter().map(|s| s.to_string()).collect()
            }
            other => panic!("{text}: no list of expected names in the error: {other:?}"),
        },
    }
}

/// Fields of a struct.
fn fields<T: DeserializeOwned>() -> Vec<String> {
    expected::<T>(&format!("({UNKNOWN}: 0)"))
}

/// Variants of an enum.
fn variants<T: DeserializeOwned>() -> Vec<String> {
    expected::<T>("ZzNotAName")
}

/// Fields of one struct variant of an enum.
fn variant_fields<T: DeserializeOwned>(variant: &str) -> Vec<String> {
    expected::<T>(&format!("{variant}({UNKNOWN}: 0)"))
}

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines under the heading that names `` `key` ``, up to the next heading.
fn section<'a>(doc: &'a str, key: &str) -> Vec<&'a str> {
    let tag = format!("`{key}`");
    let mut lines = doc
        .lines()
        .skip_while(|l| !(l.starts_with('#') && l.contains(&tag)));
    assert!(
        lines.next().is_some(),
        "docs/scenarios.md has no heading naming {tag}"
    );
    lines.take_while(|l| !l.starts_with('#')).collect()
}

/// Whether a table row of the section starts with `` | `name` ``.
fn has_row(lines: &[&str], name: &str) -> bool {
    let start = format!("| `{name}");
    lines.iter().any(|l| {
        l.strip_prefix(&start)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

#[test]
fn the_scenario_reference_has_a_row_for_every_field_and_variant() {
    let doc = read("docs/scenarios.md");
    let sections: Vec<(&str, Vec<String>)> = vec![
        ("ScenarioSpec", fields::<ScenarioSpec>()),
        ("SimulatorSpec", fields::<SimulatorSpec>()),
        ("RotatingSineParams", fields::<RotatingSineParams>()),
        ("PointMassParams", fields::<PointMassParams>()),
        (
            "AnisotropicPointMassParams",
            fields::<AnisotropicPointMassParams>(),
        ),
        ("OscillatorsParams", fields::<OscillatorsParams>()),
        ("PendulumParams", fields::<PendulumParams>()),
        ("BurgersParams", fields::<BurgersParams>()),
        ("Heat1dParams", fields::<Heat1dParams>()),
        ("Heat2dParams", fields::<Heat2dParams>()),
        ("Heat2dControlParams", fields::<Heat2dControlParams>()),
        ("Poisson2dParams", fields::<Poisson2dParams>()),
        ("EpisodeSpec", fields::<EpisodeSpec>()),
        ("PolicyKind", variants::<PolicyKind>()),
        ("Observation", variants::<Observation>()),
        ("DataSpec", fields::<DataSpec>()),
        ("SceneSource", variants::<SceneSource>()),
        (
            "SceneSource::Sampled",
            variant_fields::<SceneSource>("Sampled"),
        ),
        ("InitialSpec", variants::<InitialSpec>()),
        (
            "InitialSpec::Uniform",
            variant_fields::<InitialSpec>("Uniform"),
        ),
        ("TargetSpec", variants::<TargetSpec>()),
        (
            "TargetSpec::Uniform",
            variant_fields::<TargetSpec>("Uniform"),
        ),
        (
            "TargetSpec::ReachedBy",
            variant_fields::<TargetSpec>("ReachedBy"),
        ),
        ("TrainSet", variants::<TrainSet>()),
        ("ObjectiveSpec", fields::<ObjectiveSpec>()),
        ("MlpParams", fields::<MlpParams>()),
        ("Activation", variants::<Activation>()),
        ("LinearParams", fields::<LinearParams>()),
        ("MethodSpec", fields::<MethodSpec>()),
        ("LrDecay", variants::<LrDecay>()),
        ("LrDecay::Step", variant_fields::<LrDecay>("Step")),
        (
            "LrDecay::Exponential",
            variant_fields::<LrDecay>("Exponential"),
        ),
        ("SipSpec", fields::<SipSpec>()),
        ("SipInverse", variants::<SipInverse>()),
        ("InverseMethod", variants::<InverseMethod>()),
        (
            "InverseMethod::Newton",
            variant_fields::<InverseMethod>("Newton"),
        ),
        (
            "InverseMethod::SaddleFreeNewton",
            variant_fields::<InverseMethod>("SaddleFreeNewton"),
        ),
        ("EpisodeInverseSpec", fields::<EpisodeInverseSpec>()),
        ("ChainSpec", fields::<ChainSpec>()),
        ("LinearSolver", variants::<LinearSolver>()),
        ("LinearSolver::Cg", variant_fields::<LinearSolver>("Cg")),
        ("ProxyInputs", variants::<ProxyInputs>()),
        ("BpttSpec", fields::<BpttSpec>()),
        ("HigSpec", fields::<HigSpec>()),
        ("GaussNewtonSpec", fields::<GaussNewtonSpec>()),
        ("OptimizerConfig", variants::<OptimizerConfig>()),
        (
            "OptimizerConfig::Adam",
            variant_fields::<OptimizerConfig>("Adam"),
        ),
        (
            "OptimizerConfig::Sgd",
            variant_fields::<OptimizerConfig>("Sgd"),
        ),
        (
            "OptimizerConfig::RmsProp",
            variant_fields::<OptimizerConfig>("RmsProp"),
        ),
        (
            "OptimizerConfig::Adagrad",
            variant_fields::<OptimizerConfig>("Adagrad"),
        ),
        (
            "OptimizerConfig::Adadelta",
            variant_fields::<OptimizerConfig>("Adadelta"),
        ),
        ("TrainingSpec", fields::<TrainingSpec>()),
        ("Selection", variants::<Selection>()),
    ];
    let mut missing = Vec::new();
    for (key, names) in &sections {
        assert!(!names.is_empty(), "{key}: no names read from the parser");
        let lines = section(&doc, key);
        for name in names {
            if !has_row(&lines, name) {
                missing.push(format!("{key}.{name}"));
            }
        }
    }
    // The plug-in tables: every registered simulator, rule and network kind.
    let registry = Registry::with_builtins();
    for name in registry.simulators().names() {
        if !doc
            .lines()
            .any(|l| l.starts_with("### `") && l.contains(&format!("`{name}`")))
        {
            missing.push(format!("simulator {name}"));
        }
    }
    let rule_table: Vec<&str> = doc
        .lines()
        .skip_while(|l| *l != "### Update rules")
        .take_while(|l| !l.starts_with("#### "))
        .collect();
    assert!(
        !rule_table.is_empty(),
        "docs/scenarios.md has no section '### Update rules'"
    );
    for name in registry.rules().names() {
        if !has_row(&rule_table, &name) {
            missing.push(format!("update rule {name}"));
        }
    }
    for name in registry.networks().names() {
        if !doc
            .lines()
            .any(|l| l.starts_with("### `") && l.contains(&format!("`{name}`")))
        {
            missing.push(format!("network kind {name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/scenarios.md has no row for: {}",
        missing.join(", ")
    );
}

/// Text files of the repository that users and contributors read.
fn repository_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut stack: Vec<PathBuf> = [
        "src",
        "tests",
        "examples",
        "scenarios",
        "docs",
        "scripts",
        "benches",
        ".ci",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("rs" | "md" | "ron" | "sh" | "py" | "toml") | None
            ) {
                out.push(path);
            }
        }
    }
    out
}

/// Section numbers of `docs/method.md`: `2`, `2.3`, … from its headings `## 2. …`, `### 2.3 …`.
fn method_sections() -> BTreeSet<String> {
    read("docs/method.md")
        .lines()
        .filter(|l| l.starts_with("## ") || l.starts_with("### "))
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(|n| n.trim_end_matches('.').to_string())
        .filter(|n| n.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect()
}

#[test]
fn references_point_inside_the_repository() {
    let sections = method_sections();
    assert!(sections.contains("2.2") && sections.contains("4.3"));
    let this_file = Path::new(file!()).file_name().unwrap().to_owned();
    // Assembled so that this file does not match itself.
    let outside = [
        ["METH", "OD §"].concat(),
        ["METH", "OD.md"].concat(),
        ["../sha", "red/"].concat(),
        ["seed/sip", "-training"].concat(),
    ];
    let mut problems = Vec::new();
    for path in repository_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.display().to_string();
        for (n, line) in text.lines().enumerate() {
            for o in &outside {
                if line.contains(o.as_str()) && path.file_name() != Some(&this_file) {
                    problems.push(format!(
                        "{name}:{}: refers outside the repository: {o}",
                        n + 1
                    ));
                }
            }
            let mut rest = line;
            while let Some(i) = rest.find("method.md §") {
                rest = &rest[i + "method.md §".len()..];
                let number: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let number = number.trim_end_matches('.');
                // `§x.y` in prose about the references themselves names no section.
                if !number.is_empty() && !sections.contains(number) {
                    problems.push(format!(
                        "{name}:{}: method.md §{number} is not a section of docs/method.md",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn markdown_links_reach_files_and_headings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    let docs: Vec<PathBuf> = repository_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with("mailto:") || target.contains(' ') {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                doc.clone()
            } else {
                dir.join(file)
            };
            let shown = doc.strip_prefix(root).unwrap_or(&doc).display().to_string();
            if !path.exists() {
                problems.push(format!("{shown}: link to a missing file: {target}"));
                continue;
            }
            if !fragment.is_empty() {
                let target_text = std::fs::read_to_string(&path).unwrap_or_default();
                let found = target_text
                    .lines()
                    .filter(|l| l.starts_with('#'))
                    .any(|l| anchor(l) == fragment);
                if !found {
                    problems.push(format!("{shown}: no heading for the anchor {target}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
