"""Every benchmark script still starts: nothing else imports them, so a module they use can be removed or
renamed with every other test passing (bench_worker.py once imported one removed months before)."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_the_bench_script_starts(script):
    out = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                         timeout=120, cwd=BENCH.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage" in out.stdout.lower()
