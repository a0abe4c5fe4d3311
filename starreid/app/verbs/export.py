"""`starreid export`: a STAR checkpoint (.ckpt) -> the inference graph as ONNX and/or MindIR."""
from __future__ import annotations

import argparse
import sys

_ARCH = ("depth", "variant", "seq_len", "height", "width", "batch_size")


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
    p.add_argument("--out", required=True, help="output path without extension; .onnx / .mindir are added")
    p.add_argument("--format", choices=("onnx", "mindir", "both"), default="onnx", help="what to write")
    p.add_argument("--config", help="deployment or training config whose model section gives the architecture")
    p.add_argument("--depth", type=int, choices=(18, 34, 50), help="ResNet depth (default 50)")
    p.add_argument("--variant", choices=("baseline", "fg", "sg", "full"), help="ablation variant (default full)")
    p.add_argument("--seq-len", dest="seq_len", type=int, help="frames per tracklet in the graph (default 12)")
    p.add_argument("--height", type=int, help="crop height (default 288)")
    p.add_argument("--width", type=int, help="crop width (default 144)")
    p.add_argument("--batch-size", dest="batch_size", type=int,
                   help="fixed batch of the exported graph (default 8)")
    p.add_argument("--arch", action="append", default=[], metavar="KEY=VALUE",
                   help="override one size of the architecture, e.g. lstm_hidden=256 (repeatable)")
    p.set_defaults(func=run)


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
        given = load_config(args.config).model
        values = {k: v for k, v in given.model_dump().items() if k in ModelConfig.model_fields}
    values.update({k: getattr(args, k) for k in _ARCH if getattr(args, k) is not None})
    try:
        values.update(_arch_kwargs(args.arch))
        return ModelConfig.model_validate(values)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(args.config or "export flags", [("model", None, str(exc))]) from None


def run(args: argparse.Namespace) -> int:
    model = model_section(args)
    from starreid.reid.export import build_inference_net, export_model
    from starreid.reid.models.checkpoint import CheckpointError

    if args.random_init:
        import mindspore as ms

        ms.set_seed(0)
    try:
        net = build_inference_net(model, weights=args.checkpoint)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    formats = ("onnx", "mindir") if args.format == "both" else (args.format,)
    meta = {"depth": model.depth, "variant": model.variant, "seq_len": model.seq_len, **model.sizes()}
    for fmt in formats:
        path = export_model(net, args.out, fmt, model.batch_size, model.seq_len, model.height, model.width, meta)
        print(f"wrote {path}")
    return 0
