"""`starreid ablate`: an interrupted ablation keeps its finished runs and resumes the unfinished one."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from train_helpers import tiny_config, write_config


def _epochs(run_dir):
    return [json.loads(line)["epoch"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_an_interrupted_ablation_resumes_where_it_stopped(tmp_path, tiny_dataset):
    cfg = tiny_config(tmp_path, tiny_dataset, optim={"epochs": 4, "milestones": [3]},
                      schedule={"eval_every": 4, "checkpoint_every": 1, "eval_batch": 8})
    out = tmp_path / "ablation"
    cmd = [sys.executable, "-m", "starreid", "ablate", "--config", str(write_config(tmp_path, cfg)),
           "--out", str(out), "--seeds", "0", "--variants", "baseline", "full"]
    baseline, full = out / "runs" / "baseline-seed0", out / "runs" / "full-seed0"

    # Kill the whole process group (the command and its training child) once the second run is under way.
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 1200
    while not (full / "checkpoints" / "last.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the second run never wrote a checkpoint"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert (baseline / "result.json").exists() and not (full / "result.json").exists()
    kept = [(baseline / name).stat().st_mtime_ns for name in ("train_log.jsonl", "last.ckpt")]
    done_before = _epochs(full)
    assert done_before and done_before[-1] < 3

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    # the finished run was not trained again
    assert [(baseline / name).stat().st_mtime_ns for name in ("train_log.jsonl", "last.ckpt")] == kept
    assert _epochs(full) == [0, 1, 2, 3]  # resumed after its checkpoint: no epoch twice, none missing
    result = json.loads((full / "result.json").read_text())
    assert result["epoch"] == 3 and set(result["poses"]) == {"none", "shuffled"}
    table = (out / "ablation.md").read_text()
    for row in ("| baseline (SAD) | 1 |", "| full STAR | 1 |", "| chance |", "--variants baseline full",
                "min for 2 runs"):
        assert row in table
    assert table.count("| full STAR |") == 2  # the metrics table and the skeleton-probe table
    assert (out / "ablation.png").stat().st_size > 10_000
