"""Config validation at the edge: every shipped config passes; each kind of mistake names its key path."""
from pathlib import Path

import pytest

from starreid.app.cli import main
from starreid.app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "configs").rglob("*.yaml"))

VALID = """\
cameras:
  - id: cam1
    source: /dev/video0
    modality: ir
model:
  backbone: resnet18
"""


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_configs_are_shipped():
    assert SHIPPED, "configs/ holds no YAML file"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_config_is_valid(path):
    """Its schema holds; what `config check` may still report are the files an example names that a fresh
    clone does not have yet (a model the quickstart exports, a licensed dataset)."""
    from starreid.app.config.resources import file_problems

    cfg = load_config(path)
    problems = file_problems(cfg)
    assert all(message.startswith("no such") for _, message in problems), problems


def test_valid_config_loads_into_plain_values(tmp_path):
    cfg = load_config(write(tmp_path, VALID))
    assert cfg.cameras[0].modality == "ir"
    assert cfg.model.backbone == "resnet18"
    assert cfg.zmq.tracklets.startswith("tcp://127.0.0.1")  # defaults filled in


def test_misspelled_key_names_its_path_and_suggests(tmp_path, capsys):
    path = write(tmp_path, VALID + "gallery:\n  tresholds:\n    rgb_ir: 0.4\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text
    assert "gallery.tresholds" in text and "did you mean 'thresholds'" in text
    assert main(["config", "check", str(path)]) == 2
    assert "gallery.tresholds" in capsys.readouterr().err


def test_wrong_type_names_its_path_and_line(tmp_path):
    path = write(tmp_path, VALID.replace("backbone: resnet18", "backbone: eighteen"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [(k, line) for k, line, _ in err.value.problems] == [("model.backbone", 6)]
    assert "eighteen" in str(err.value)


def test_missing_section_is_named(tmp_path):
    path = write(tmp_path, "model:\n  backbone: resnet50\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems[0][0] == "cameras"
    assert "Field required" in str(err.value)


def test_wrong_value_inside_a_list_names_the_index(tmp_path):
    path = write(tmp_path, VALID.replace("modality: ir", "modality: thermal"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems[0][0] == "cameras[0].modality"


def test_duplicate_camera_ids_rejected(tmp_path):
    text = VALID.replace("model:", "  - id: cam1\n    source: x.mp4\n    modality: rgb\nmodel:")
    with pytest.raises(ConfigError, match="repeated: cam1"):
        load_config(write(tmp_path, text))


def test_yaml_syntax_error_gives_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "cameras: [\n  - id: a\n"))
    assert "not valid YAML" in str(err.value) and err.value.problems[0][1] is not None


def test_unknown_kind_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown kind 'nonsense'"):
        load_config(write(tmp_path, "kind: nonsense\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_environment_variables_expand_and_unset_ones_are_named(tmp_path, monkeypatch):
    text = VALID + "redis:\n  url: redis://app:${STARREID_TEST_PW}@127.0.0.1:6379/0\n"
    path = write(tmp_path, text)
    monkeypatch.delenv("STARREID_TEST_PW", raising=False)
    with pytest.raises(ConfigError, match=r"redis\.url.*STARREID_TEST_PW is not set"):
        load_config(path)
    monkeypatch.setenv("STARREID_TEST_PW", "s3cret")
    assert load_config(path).redis.url == "redis://app:s3cret@127.0.0.1:6379/0"
