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


def run(args: argparse.Namespace) -> int:
    from starreid.app.config.model import ModelConfig

    if args.config:
        from starreid.app.verbs import load_config_or_report

        cfg = load_config_or_report(args.config)
        if cfg is None:
            return 1
        model = cfg.model
    else:
        model = ModelConfig()
    # A training config has no batch_size: the graph's batch then comes from the flag or the default.
    defaults = ModelConfig()
    arch = {k: getattr(args, k) if getattr(args, k) is not None else getattr(model, k, getattr(defaults, k))
            for k in _ARCH}

    from starreid.reid.export import build_inference_net, export_model
    from starreid.reid.models.checkpoint import CheckpointError

    if args.random_init:
        import mindspore as ms

        ms.set_seed(0)
    try:
        extra = {**model.sizes(), **_arch_kwargs(args.arch)}
        net = build_inference_net(arch["depth"], arch["variant"], arch["seq_len"], weights=args.checkpoint,
                                  **extra)
    except (CheckpointError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    formats = ("onnx", "mindir") if args.format == "both" else (args.format,)
    meta = {"depth": arch["depth"], "variant": arch["variant"], "seq_len": arch["seq_len"], **extra}
    for fmt in formats:
        path = export_model(net, args.out, fmt, arch["batch_size"], arch["seq_len"], arch["height"],
                            arch["width"], meta)
        print(f"wrote {path}")
    return 0
