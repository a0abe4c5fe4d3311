"""`starreid train` end to end on a tiny synthetic dataset: logs, checkpoints, resume, config errors, msrun."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from starreid.app.cli import main
from support.net import free_port
from train_helpers import tiny_config, write_config


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def test_config_error_names_the_key(tmp_path, tiny_dataset, capsys):
    cfg = tiny_config(tmp_path, tiny_dataset, optim={"epochs": 3, "lr": "fast"})
    cfg["sampler"]["q"] = 3
    assert main(["train", "--config", str(write_config(tmp_path, cfg))]) == 2
    err = capsys.readouterr().err
    assert "optim.lr" in err and "sampler.q" in err and "unknown key" in err


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_training_runs_and_a_resumed_run_repeats_the_same_losses(tmp_path, tiny_dataset):
    straight = tiny_config(tmp_path / "a", tiny_dataset)
    assert main(["train", "--config", str(write_config(tmp_path, straight, "a.yaml")), "--no-progress"]) == 0
    run = Path(straight["out_dir"])
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in log] == [0, 1, 2]
    assert all(np.isfinite(e["loss"]) for e in log) and all("eval" in e for e in log)
    for direction in ("i2v", "v2i"):
        assert 0 <= log[-1]["eval"][direction]["mAP"] <= 1
        assert (run / f"best_{direction}_mAP.ckpt").exists()
    assert (run / "last.ckpt").exists() and (run / "curves.png").stat().st_size > 10_000

    interrupted = tiny_config(tmp_path / "b", tiny_dataset)
    path = write_config(tmp_path, interrupted, "b.yaml")
    assert main(["train", "--config", str(path), "--no-progress", "--stop-after-epoch", "0"]) == 0
    assert len(losses(Path(interrupted["out_dir"]))) == 1
    assert main(["train", "--config", str(path), "--no-progress"]) == 0  # resumes at epoch 1
    assert losses(Path(interrupted["out_dir"])) == losses(run)  # exactly: same data, same graph randomness


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_an_interrupted_iban_run_resumes_exactly_across_its_reconstruction_switch(tmp_path, tiny_dataset):
    def iban(out):
        cfg = tiny_config(out, tiny_dataset)
        cfg["loss"] = {"cr_from_epoch": 2}
        cfg["model"] = {"arch": "iban", "backbone": "resnet18", "base_width": 8, "seq_len": 4, "height": 64,
                        "width": 32, "lstm_hidden": 16, "sad": False}
        return cfg

    straight = iban(tmp_path / "a")
    assert main(["train", "--config", str(write_config(tmp_path, straight, "a.yaml")), "--no-progress"]) == 0
    log = [json.loads(line) for line in (Path(straight["out_dir"]) / "train_log.jsonl").read_text().splitlines()]
    assert all(set(e) >= {"id", "triplet", "esb", "cr"} and "kl" not in e for e in log)
    assert all(e["cr"] > 0 for e in log)  # computed every epoch; weighted in from epoch 2 (tests/reid/model)
    path = write_config(tmp_path, iban(tmp_path / "b"), "b.yaml")
    assert main(["train", "--config", str(path), "--no-progress", "--stop-after-epoch", "0"]) == 0
    assert main(["train", "--config", str(path), "--no-progress"]) == 0
    assert losses(tmp_path / "b" / "run") == losses(Path(straight["out_dir"]))


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_msrun_two_cpu_workers_keep_identical_weights(tmp_path, tiny_dataset):
    import mindspore as ms

    msrun = Path(sys.executable).with_name("msrun")
    cfg = tiny_config(tmp_path, tiny_dataset, optim={"epochs": 1},
                      schedule={"eval_every": 1, "checkpoint_every": 1, "eval_batch": 8})
    path = write_config(tmp_path, cfg)
    env = {**os.environ, "PATH": f"{msrun.parent}{os.pathsep}{os.environ['PATH']}"}  # workers use the venv
    port = free_port()
    result = subprocess.run(
        [str(msrun), "--worker_num=2", "--local_worker_num=2", "--master_addr=127.0.0.1",
         f"--master_port={port}", "--join=True", f"--log_dir={tmp_path / 'logs'}",
         str(Path(sys.executable).with_name("starreid")), "train", "--config", str(path), "--no-progress"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1100)
    assert result.returncode == 0, "\n".join((tmp_path / "logs" / f).read_text()[-3000:]
                                             for f in ("worker_0.log", "worker_1.log"))
    run = Path(cfg["out_dir"])
    ranks = [ms.load_checkpoint(str(run / f"weights_rank{r}.ckpt")) for r in (0, 1)]
    trained = [k for k in ranks[0] if "moving_" not in k]  # BN running statistics are per rank by design
    assert trained
    for name in trained:
        np.testing.assert_array_equal(ranks[0][name].asnumpy(), ranks[1][name].asnumpy(), err_msg=name)
    assert len(losses(run)) == 1
