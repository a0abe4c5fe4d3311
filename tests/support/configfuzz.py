"""Random mutations of YAML config files, for the config fuzzer: a key deleted, a value swapped for one of
another type, a key written twice, an unknown key added, a value out of range or malformed, and the text itself
damaged. Deterministic for a seed."""
from __future__ import annotations

import random

import yaml

ODD_VALUES = [None, True, False, 0, -1, 1, 2 ** 31, 2 ** 63, -(2 ** 63), 10 ** 30, 0.5, -0.5, 1e308, float("inf"),
              float("-inf"), float("nan"), "", " ", "x" * 5000, "${STARREID_FUZZ_UNSET}", "../../../etc/passwd",
              "/dev/null", "tcp://", "tcp://127.0.0.1:0", "tcp://256.0.0.1:99999", "redis://", "yes", "~", "null",
              "0x10", "1e3", "\u00e9\u4e2d\U0001f600", [], [[]], [1, "a", None], {}, {"a": {"b": {"c": 1}}},
              {"": 1}, {"kind": "train"}]
TEXT_DAMAGE = ["\t", ": :", "- - -", "[", "]", "{", "}", "&a", "*a", "!!python/object:os.system", "? [a, b]\n: 1",
               "%YAML 9.9", "---", "...", "'", '"', "\x00", "key: value: other", "<<: *nowhere"]


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


def _parent(doc, path):
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


def _bad_value(old, rng: random.Random):
    """A value likely to be wrong for this position: another type, or the same type out of range."""
    if isinstance(old, bool) or rng.random() < 0.5:
        return rng.choice(ODD_VALUES)
    if isinstance(old, (int, float)):
        return rng.choice([-old - 1, old * 10 ** 9, -abs(old) - 0.5, 0, float("nan"), str(old), [old]])
    if isinstance(old, str):
        return rng.choice([old + "x", old.upper(), old[: len(old) // 2], old * 50, f"{old}\n{old}", [old], {old: old}])
    if isinstance(old, list):
        return rng.choice([[], old * 20, [old], old[:1] + [None]])
    if isinstance(old, dict):
        return rng.choice([{}, list(old), {k: None for k in old}])
    return rng.choice(ODD_VALUES)


def mutate(text: str, rng: random.Random, ops: int | None = None) -> tuple[str, list[str]]:
    """A mutated copy of a YAML document and the list of what was done to it."""
    doc = yaml.safe_load(text)
    done = []
    for _ in range(ops or rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["delete", "swap", "unknown", "bad", "bad", "duplicate", "damage"])
        paths = list(_paths(doc)) if isinstance(doc, (dict, list)) else []
        if kind in ("delete", "swap", "bad") and paths:
            path = rng.choice(paths)
            parent = _parent(doc, path)
            if kind == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = _bad_value(parent[path[-1]], rng) if kind == "bad" else rng.choice(ODD_VALUES)
            done.append(f"{kind} {'.'.join(map(str, path))}")
        elif kind == "unknown" and isinstance(doc, dict):
            maps = [doc] + [_parent(doc, p + ("",)) for p in paths if isinstance(_parent(doc, p + ("",)), dict)]
            target = rng.choice(maps)
            key = rng.choice(["enabled", "trackelt_len", "extra", "kind", "Port", "url ", "0", "__class__"])
            target[key] = rng.choice(ODD_VALUES)
            done.append(f"unknown key {key!r}")
        else:
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True) if done else text
            lines = text.splitlines()
            if kind == "duplicate" and lines:
                i = rng.randrange(len(lines))
                lines.insert(i + 1, lines[i])
                done.append(f"line {i + 1} written twice")
            else:
                i = rng.randrange(len(lines) + 1)
                lines.insert(i, (lines[i][: rng.randrange(len(lines[i]) + 1)] if i < len(lines) and rng.random() < 0.5
                                 else "") + rng.choice(TEXT_DAMAGE))
                done.append(f"text damaged at line {i + 1}")
            return "\n".join(lines) + "\n", done
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), done
