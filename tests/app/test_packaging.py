"""One installed namespace: the wheel holds starreid/ only (the stage folders mapped into it), and a fresh
environment with only the wheel imports starreid.* but not the bare stage names."""
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPED = {"starreid": "starreid", "starreid.streams": "streams", "starreid.tracker": "tracker",
          "starreid.reid": "reid", "starreid.storage": "storage"}


def test_pyproject_lists_every_package_folder():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert tool["package-dir"] == MAPPED
    found = set()
    for package, folder in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found == set(tool["packages"])


@pytest.mark.timeout(300)
def test_the_wheel_installs_one_top_level_package(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                          str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("starreid-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"starreid"}
    assert "starreid/storage/service.py" in names and "starreid/reid/models/star.py" in names
    assert {"starreid/storage/commit.lua", "starreid/storage/append.lua"} <= set(names)  # the gallery's scripts
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    out = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    check = ("import importlib.util as u; "
             "print(u.find_spec('starreid.storage.keys') is not None, "
             "[n for n in ('storage', 'tracker', 'streams', 'reid') if u.find_spec(n)])")
    out = subprocess.run([str(py), "-c", check], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.stdout.split("\n")[0] == "True []", out.stdout + out.stderr
    out = subprocess.run([str(py), "-c", "import storage"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode != 0 and "No module named 'storage'" in out.stderr
