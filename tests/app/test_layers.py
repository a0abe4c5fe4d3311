"""The installed namespace's layers import downward only: contracts < stages < app. A stage imports only the
contracts and the stages it consumes; nothing imports the application but the application itself."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# folder in the repository -> package it installs as
FOLDERS = {"starreid/contracts": "starreid.contracts", "streams": "starreid.streams",
           "tracker": "starreid.tracker", "reid": "starreid.reid", "storage": "starreid.storage",
           "starreid/app": "starreid.app"}
# what each package may import from the namespace, besides itself
ALLOWED = {
    "starreid.contracts": set(),
    "starreid.streams": {"starreid.contracts"},
    "starreid.reid": {"starreid.contracts"},
    "starreid.storage": {"starreid.contracts"},
    "starreid.tracker": {"starreid.contracts", "starreid.streams"},
    "starreid.app": {"starreid.contracts", "starreid.streams", "starreid.tracker", "starreid.reid",
                     "starreid.storage", "starreid"},
}
OLD_TOP_LEVEL = {"streams", "tracker", "reid", "storage"}


def modules():
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield package, path


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, including those inside functions (verbs import late)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [(node.lineno, node.module)]
    return out


def package_of(module: str) -> str | None:
    if module == "starreid":
        return "starreid"
    for package in ALLOWED:
        if module == package or module.startswith(package + "."):
            return package
    return None


def test_every_import_runs_downward():
    wrong = []
    for package, path in modules():
        for line, module in imported(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if module.split(".")[0] in OLD_TOP_LEVEL:
                wrong.append(f"{where} (a top-level name the wheel does not install)")
                continue
            target = package_of(module) if module.startswith("starreid") else None
            if target is not None and target != package and target not in ALLOWED[package]:
                wrong.append(f"{where} ({package} may import only {sorted(ALLOWED[package]) or 'nothing'})")
    assert wrong == [], "\n".join(wrong)


def test_the_library_never_starts_its_own_cli():
    """Only the application starts `python -m starreid` children (the supervisor, the ablation runner)."""
    wrong = [f"{path.relative_to(ROOT)}" for package, path in modules()
             if package != "starreid.app" and ('"-m", "starreid"' in path.read_text()
                                               or "starreid.app" in path.read_text())]
    assert wrong == []


@pytest.mark.parametrize("text,bad", [("from starreid.app.config import load_config", True),
                                      ("from starreid.contracts import wire", False),
                                      ("import storage.keys", True)])
def test_the_check_catches_what_it_should(tmp_path, text, bad):
    path = tmp_path / "m.py"
    path.write_text(text + "\n")
    (_, module), = imported(path)
    target = package_of(module) if module.startswith("starreid") else None
    caught = module.split(".")[0] in OLD_TOP_LEVEL or (
        target not in (None, "starreid.storage") and target not in ALLOWED["starreid.storage"])
    assert caught == bad
