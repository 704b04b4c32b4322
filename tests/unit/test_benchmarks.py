"""benchmarks/run.py keeps working: its quick mode runs every workload. No timing is checked."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
WORKLOADS = [
    "## scalar chain",
    "## 0-d chain against every peer",
    "## deep chain forward per node",
    "## wide fan-in",
    "## deep chain",
    "## large arrays",
    "## memory",
    "## higher order",
    "## mlp training step",
    "## convolutional layers",
    "## forward mode, 0-d chain",
    "## forward mode, large arrays",
    "## hvp against grad",
    "## hessian",
    "## jacobian",
    "## verify",
]
PEERS = ["dezero", "micrograd", "torch", "mygrad", "autograd"]


def run_script(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``benchmarks/<script> --quick *args``, assert that it succeeds, return its output."""
    command = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", *args]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_quick(env: dict[str, str] | None = None) -> str:
    out = run_script("run.py", env=env)
    for workload in WORKLOADS:
        assert workload in out
    assert "tinygrad_ref" in out
    assert "numpy by hand" in out
    return out


def test_quick_run_reports_every_workload_with_the_installed_peers() -> None:
    out = run_quick()
    for peer in PEERS:
        assert peer in out


def test_a_missing_peer_is_reported_as_skipped(tmp_path: Path) -> None:
    for peer in PEERS:  # NOTE: packages earlier on the path that fail to import, as if absent
        (tmp_path / peer).mkdir()
        (tmp_path / peer / "__init__.py").write_text(f"raise ImportError(name={peer!r})\n")
    out = run_quick({**os.environ, "PYTHONPATH": str(tmp_path)})
    for peer in PEERS:
        assert f"skipped: not installed ({peer})" in out


def test_only_runs_the_workloads_it_names_and_refuses_an_unknown_one() -> None:
    out = run_script("run.py", "--only", "large,mlp", "--peers", "none")
    assert "## large arrays" in out
    assert "## mlp training step" in out
    assert "tinygrad_ref, x read-only" in out
    assert "## scalar chain" not in out
    assert "## verify" not in out
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "mlp,nothing"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "unknown workloads nothing" in done.stderr


def test_the_ab_script_compares_two_trees_in_one_process() -> None:
    out = run_script("ab.py", str(ROOT), str(ROOT / "src"), "--repeat", "3")
    workloads = ["## scalar chain", "## 0-d forward", "## 0-d jvp", "## rosenbrock grad"]
    workloads += ["## rosenbrock hvp", "## rosenbrock hessian", "## jvp on large arrays"]
    for workload in [
        *workloads,
        "## large arrays",
        "## array constants",
        "## layer",
        "## mlp step",
    ]:
        assert workload in out
    assert "## jacobian(mode='fwd')" in out
    assert "## mlp step 784-100-10, batch 10, x read-only" in out
    assert out.count("B / A = ") == 14


def test_the_power_script_judges_every_case_rightly_in_full_mode() -> None:
    """benchmarks/power.py --quick: every case of issue 18 runs, and our full mode neither
    misses a planted error nor rejects a right function (fast mode and PyTorch may)."""
    out = run_script("power.py")
    rows = [line.split(" | ") for line in out.splitlines() if " | " in line][2:]
    assert len(rows) == 15
    for row in rows:
        assert "MISSED" not in row[2]
        assert "FALSE ALARM" not in row[2]
        assert "FALSE ALARM" not in row[3]


def test_the_sampled_check_script_runs_and_every_row_passes() -> None:
    """benchmarks/sampled.py --quick: a sampled and a full check_vjp of a right rule, each
    passing, each checking as many elements as its row says."""
    out = run_script("sampled.py")
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [row[:2] for row in rows] == [
        ["64", "64"],
        ["256", "256"],
        ["1024", "256"],
        ["all", "256"],
    ]
    assert all(row[-1] == "True" for row in rows)


def test_linalg_benchmark_runs_every_workload() -> None:
    """benchmarks/linalg.py --quick: every einsum and numpy.linalg workload of issue 24 runs
    beside its NumPy formula by hand."""
    out = run_script("linalg.py")
    for workload in ["'ij,jk->ik'", "'bij,bjk->bik'", "'ij,ij->'", "'ii->'"]:
        assert f"einsum {workload}" in out
    for name in ["solve", "inv", "cholesky", "slogdet"]:
        assert f"\n{name} " in out


def test_linalg_accuracy_script_checks_every_op_and_condition_number() -> None:
    """benchmarks/linalg_accuracy.py --quick: every op at every condition number of
    docs/linalg.md's table, no draw rejected (cholesky's was, from 1e4, before its declared
    terms), the median element's resolution growing with κ."""
    out = run_script("linalg_accuracy.py")
    rows = [
        line.split(" | ")
        for line in out.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    ops = ["det", "slogdet", "inv", "solve", "cholesky"]
    assert [(row[0][2:], row[1]) for row in rows[1:]] == [
        (name, kappa) for name in ops for kappa in ("1e2", "1e4", "1e6", "1e8")
    ]
    assert all(row[-1] == "0 |" for row in rows[1:])
    for k in range(len(ops)):
        medians = [float(row[3]) for row in rows[1 + 4 * k : 5 + 4 * k]]
        assert medians == sorted(medians), (ops[k], medians)
        assert medians[-1] > 1e3 * medians[0], (ops[k], medians)


def test_the_verify_wall_script_times_both_trees_and_judges_the_ratio() -> None:
    """benchmarks/verify_wall.py --quick: the base (here HEAD, always in the clone) and this
    tree each timed once, and the ratio judged against the target."""
    out = run_script("verify_wall.py", "--base", "HEAD")
    lines = out.splitlines()
    assert lines[0].split() == ["round", "tree", "wall", "s", "CPU", "s"]
    assert [line.split()[:2] for line in lines[1:3]] == [["1", "base"], ["1", "this"]]
    assert lines[3].startswith("median base: wall ")
    assert lines[4].startswith("median this tree: wall ")
    assert "(target 0.686: " in lines[5]
