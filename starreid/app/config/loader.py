"""Read a YAML config once, at the edge, into its pydantic model; every error names the file and key path."""
from __future__ import annotations

import difflib
import importlib
import os
import re
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

# kind -> "module:Class"; the top-level `kind` key of a file selects its schema (default: deployment).
KINDS = {
    "deployment": "starreid.app.config.deployment:DeploymentConfig",
    "train": "starreid.app.config.train:TrainConfig",
    "heads": "starreid.app.config.heads:HeadsConfig",
}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """An invalid config file; .problems holds (key path, line or None, message)."""

    def __init__(self, path: str, problems: list[tuple[str, int | None, str]]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: invalid config ({len(problems)} problem{'s' * (len(problems) != 1)})"]
        for key, line, message in problems:
            where = f" (line {line})" if line else ""
            lines.append(f"  {key or '<top>'}{where}: {message}")
        super().__init__("\n".join(lines))


def schema_for(kind: str) -> type[BaseModel]:
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _node_line(node, loc: tuple) -> int | None:
    """1-based line of the YAML node at loc (the deepest one that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
            if node is None:
                return line
            if isinstance(part, str):  # point at the key itself for mappings
                line = node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _fields_at(model: type, loc: tuple) -> list[str]:
    """Field names of the model found by walking loc (to suggest a fix for a misspelled key)."""
    tp = model
    for part in loc:
        origin = typing.get_origin(tp)
        if origin in (list, tuple) or (origin is None and tp in (list, tuple)):
            tp = typing.get_args(tp)[0] if typing.get_args(tp) else None
        elif origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
            tp = next((a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if isinstance(part, int):
            continue
        if not (isinstance(tp, type) and issubclass(tp, BaseModel)) or part not in tp.model_fields:
            return []
        tp = tp.model_fields[part].annotation
    for _ in range(2):  # unwrap Optional[...] / list[...] around the final model
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            break
        tp = next((a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _expand_env(value, loc=(), missing=None):
    """${VAR} in string values is replaced at load time (for secrets); every unset variable is collected into
    `missing` as (key path, variable), so one error names them all."""
    if isinstance(value, dict):
        return {k: _expand_env(v, loc + (k,), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, loc + (i,), missing) for i, v in enumerate(value)]
    if isinstance(value, str):
        def sub(match):
            if match.group(1) not in os.environ:
                missing.append((loc, match.group(1)))
                return match.group(0)
            return os.environ[match.group(1)]
        return _ENV.sub(sub, value)
    return value


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key written twice in one mapping (the second would silently win)."""


def _no_duplicates(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:  # a complex key (`? [a, b]`): a YAML error like any other, not a traceback
            raise yaml.constructor.ConstructorError(None, None, f"a key must be a plain value, not a "
                                                    f"{type(key).__name__}", key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def _parse(text: str, path: str):
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(path, [("", mark.line + 1 if mark else None,
                                  f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(path, [("", None, "the top level must be a mapping of sections")])
    return data, node


def load_config(path: str | os.PathLike, kind: str | None = None) -> BaseModel:
    """Load and validate a config file. kind defaults to the file's own `kind` key, else 'deployment'."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [("", None, f"cannot read: {exc.strerror or exc}")]) from None
    data, node = _parse(text, path)
    file_kind = data.get("kind", "deployment")
    if not isinstance(file_kind, str):
        raise ConfigError(path, [("kind", _node_line(node, ("kind",)),
                                  f"kind must be one of {', '.join(KINDS)}, got a {type(file_kind).__name__}")])
    kind = kind or file_kind
    if kind not in KINDS:
        raise ConfigError(path, [("kind", _node_line(node, ("kind",)),
                                  f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")])
    if file_kind != kind:
        raise ConfigError(path, [("kind", _node_line(node, ("kind",)), f"expected a {kind} config, got {file_kind!r}")])
    missing: list = []
    data = _expand_env(data, missing=missing)
    if missing:
        raise ConfigError(path, [(_key_path(loc), _node_line(node, loc), f"environment variable {var} is not set")
                                 for loc, var in missing])
    model = schema_for(kind)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"]
            if err["type"] == "extra_forbidden":
                message = "unknown key"
                close = difflib.get_close_matches(str(loc[-1]), _fields_at(model, loc[:-1]), n=1)
                if close:
                    message += f"; did you mean '{close[0]}'?"
            elif "input" in err and err["type"] != "missing" and not isinstance(err["input"], (dict, list)):
                message += f" (got {err['input']!r})"
            problems.append((_key_path(loc), _node_line(node, loc), message))
        raise ConfigError(path, problems) from None
