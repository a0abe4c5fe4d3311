"""Which tensors of an unpickled checkpoint form its state dict."""
import numpy as np

from .errors import WeightFileError

# Keys under which training scripts keep the model's state dict, in order of preference.
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network")
_DATA_PARALLEL = "module."


def select_state_dict(tree, leaf: type = np.ndarray, source: str = "checkpoint") -> dict:
    """The state dict inside `tree` (what a checkpoint unpickles to), flat, by this rule:

    1. Unwrap: while `tree` is a mapping that holds no tensor directly, descend into the value of the first of
       WRAPPER_KEYS whose value is a mapping: {"state_dict": sd, "epoch": 3} gives sd, and so does
       {"model": {"state_dict": sd}}. Beside the state dict, optimizer state and the like are thus left out.
    2. Flatten: every tensor (instance of `leaf`) reachable through nested mappings, lists and tuples, keyed by
       its path joined with "." ({"backbone": {"conv.weight": t}} gives "backbone.conv.weight"; list items by
       index). Everything else (numbers, strings, None) is ignored.
    3. If every key starts with "module." (a model saved inside torch.nn.DataParallel), the prefix is dropped.

    A bare tensor, no tensor at all, a container that holds itself, or two paths giving one key is a
    WeightFileError naming `source`.
    """
    if isinstance(tree, leaf):
        raise WeightFileError(f"{source}: holds a single tensor, not a state dict of named tensors")
    while isinstance(tree, dict) and not any(isinstance(value, leaf) for value in tree.values()):
        inner = next((tree[key] for key in WRAPPER_KEYS if isinstance(tree.get(key), dict)), None)
        if inner is None:
            break
        tree = inner
    tensors: dict = {}
    try:
        _flatten(tree, "", leaf, tensors, set(), source)
    except RecursionError:
        raise WeightFileError(f"{source}: nested too deeply to be a state dict") from None
    if not tensors:
        raise WeightFileError(f"{source}: holds no tensors (top-level entries: {_describe(tree)})")
    if all(key.startswith(_DATA_PARALLEL) for key in tensors):
        tensors = {key[len(_DATA_PARALLEL):]: value for key, value in tensors.items()}
    return tensors


def _flatten(node, prefix: str, leaf: type, out: dict, open_ids: set, source: str) -> None:
    if isinstance(node, leaf):
        if prefix in out:
            raise WeightFileError(f"{source}: two entries flatten to the same key {prefix!r}")
        out[prefix] = node
        return
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, (list, tuple)):
        items = enumerate(node)
    else:
        return
    if id(node) in open_ids:  # a pickle can build a list that contains itself
        raise WeightFileError(f"{source}: a container holds itself; not a state dict")
    open_ids.add(id(node))
    for key, value in items:
        _flatten(value, f"{prefix}.{key}" if prefix else str(key), leaf, out, open_ids, source)
    open_ids.discard(id(node))


def _describe(tree) -> str:
    if not isinstance(tree, dict):
        return f"none, it is a {type(tree).__name__}"
    keys = [repr(key) for key in list(tree)[:8]]
    return ", ".join(keys) + (", ..." if len(tree) > 8 else "") if keys else "none"
