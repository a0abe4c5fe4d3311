"""Configs fuzzed: random mutations of the example configs (configs/*.yaml, configs/train/*.yaml): keys deleted,
values of another type or out of range, keys written twice, unknown keys, damaged text. Each must give a
clear error (ConfigError; exit 2 from `starreid config check`) or a valid config, never a traceback."""
import os
import random
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from support.configfuzz import mutate

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "configs").glob("*.yaml")) + sorted((ROOT / "configs" / "train").glob("*.yaml"))
CASES = int(os.environ.get("STARREID_CONFIG_FUZZ", "400"))
CLI_CASES = int(os.environ.get("STARREID_CONFIG_FUZZ_CLI", "12"))


def check(path: Path):
    """What `starreid config check` does for one file: load and validate, then check what it points at."""
    from starreid.app.config import load_config
    from starreid.app.config.resources import file_problems, require

    cfg = load_config(path)
    require(str(path), file_problems(cfg))
    return cfg


@pytest.mark.timeout(900)
def test_mutated_configs_give_a_clear_error_or_a_valid_config(tmp_path, reliability):
    from starreid.app.config import ConfigError

    assert EXAMPLES, "no example configs"
    rng = random.Random(int(os.environ.get("STARREID_CONFIG_FUZZ_SEED", "2024")))
    accepted, refused, crashes = 0, 0, []
    for case in range(CASES):
        source = EXAMPLES[case % len(EXAMPLES)]
        text, done = mutate(source.read_text(), rng)
        path = tmp_path / f"case{case:04d}-{source.name}"
        path.write_text(text)
        try:
            check(path)
            accepted += 1
        except ConfigError as exc:
            refused += 1
            assert str(exc).startswith(str(path)), str(exc)  # the message names the file
        except Exception:  # anything else is a traceback in front of the operator
            crashes.append((path.name, done, traceback.format_exc(limit=3)))
    cli, cli_bad = [], []
    for case in range(CLI_CASES):  # the command itself, as an operator runs it
        source = EXAMPLES[case % len(EXAMPLES)]
        text, done = mutate(source.read_text(), rng)
        path = tmp_path / f"cli{case:03d}-{source.name}"
        path.write_text(text)
        out = subprocess.run([sys.executable, "-m", "starreid", "config", "check", str(path)], capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
        cli.append(out.returncode)
        if out.returncode not in (0, 2) or "Traceback" in out.stderr:
            cli_bad.append((path.name, done, out.returncode, out.stderr[-1500:]))
    reliability("configs fuzzed (random YAML mutations)", emitted=CASES + CLI_CASES,
                committed=accepted + refused + CLI_CASES - len(cli_bad), lost=len(crashes) + len(cli_bad),
                notes=f"{len(EXAMPLES)} example configs; in-process: {accepted} valid, {refused} clear errors; "
                      f"`starreid config check`: {cli.count(0)} exit 0, {cli.count(2)} exit 2; "
                      f"{len(crashes) + len(cli_bad)} tracebacks")
    assert not crashes, "\n\n".join(f"{name} after {done}:\n{tb}" for name, done, tb in crashes[:5])
    assert not cli_bad, cli_bad[:3]
