#!/usr/bin/env python3
"""Golden comparison of two physinv versions: every shipped scenario trained for a fixed number
of iterations, then everything but wall-clock times compared exactly.

    python3 scripts/golden.py run BINARY OUT_DIR [--iterations N] [--threads T]
    python3 scripts/golden.py compare OUT_A OUT_B

`run` trains each file in scenarios/ with `BINARY --threads T -q train FILE --iterations N`
into OUT_DIR/<file stem>/. `compare` reads metrics.csv, summary.json and checkpoints/*.json of
both and reports every difference in anything but `wall_s` (and the checkpoints' `format`,
`network` and `checksum` keys, whose form a refactor may change; their parameters, optimizer
state, random-stream position, log and best-so-far network are compared). Exit status 0 only
when all are equal. It reads only what the runs wrote, so it works across versions."""
import csv, glob, json, os, subprocess, sys

SKIP = {"wall_s"}
# Text renamed on purpose between versions, applied to A's strings before comparing: the rule
# `Dp` became `Bptt` (its resume fingerprint is the rule's text).
RENAMES = [("Dp(", "Bptt(")]
CHECKPOINT_FORM = {"format", "network", "checksum"}


def run(binary, out, iterations, threads):
    for path in sorted(glob.glob("scenarios/*.ron")):
        stem = os.path.splitext(os.path.basename(path))[0]
        dest = os.path.join(out, stem)
        cmd = [binary, "--threads", str(threads), "-q", "train", path,
               "--iterations", str(iterations), "--out", dest]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def strip(value, drop=SKIP):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def renamed(value):
    if isinstance(value, dict):
        return {k: renamed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v) for v in value]
    if isinstance(value, str):
        for old, new in RENAMES:
            value = value.replace(old, new)
    return value


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k not in SKIP} for r in rows]


def diff(a, b, where, out):
    if type(a) is not type(b):
        out.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{where}.{k}: only in {'B' if k not in a else 'A'}")
            else:
                diff(a[k], b[k], f"{where}.{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{where}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{where}[{i}]", out)
    elif a != b:
        out.append(f"{where}: {a!r} != {b!r}")


def compare(a, b):
    problems, files = [], 0
    for run_a in sorted(glob.glob(os.path.join(a, "*"))):
        stem = os.path.basename(run_a)
        run_b = os.path.join(b, stem)
        for rel in ["metrics.csv", "summary.json"] + [
            os.path.relpath(p, run_a) for p in sorted(glob.glob(os.path.join(run_a, "checkpoints", "*.json")))
        ]:
            pa, pb = os.path.join(run_a, rel), os.path.join(run_b, rel)
            if not os.path.exists(pb):
                problems.append(f"{stem}/{rel}: missing in B")
                continue
            files += 1
            if rel.endswith(".csv"):
                diff(renamed(read_csv(pa)), read_csv(pb), f"{stem}/{rel}", problems)
            else:
                drop = SKIP | CHECKPOINT_FORM if rel.startswith("checkpoints") else SKIP
                ja, jb = (json.load(open(p)) for p in (pa, pb))
                ja = {k: v for k, v in ja.items() if k not in drop}
                jb = {k: v for k, v in jb.items() if k not in drop}
                diff(renamed(strip(ja)), strip(jb), f"{stem}/{rel}", problems)
    for p in problems[:200]:
        print(p)
    print(f"{files} files compared, {len(problems)} differences")
    return 1 if problems or files == 0 else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "run":
        opts = dict(zip(args[3::2], args[4::2]))
        run(args[1], args[2], int(opts.get("--iterations", 120)), int(opts.get("--threads", 2)))
    elif len(args) == 3 and args[0] == "compare":
        sys.exit(compare(args[1], args[2]))
    else:
        sys.exit(__doc__)
