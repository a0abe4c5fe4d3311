"""Benchmark: ms per tracklet of STAR (full) and its bare backbone in ONNX Runtime and MindSpore graph mode,
against the FLOP floor = counted FLOPs / this machine's measured GEMM rate.

    python bench/bench_model.py            # ResNet-50, 288 x 144, 12 frames sampled from a 24-frame tracklet
    python bench/bench_model.py --quick    # ResNet-18, 4 frames of 96 x 48: a smoke run
    python bench/bench_model.py --backbones mobilenetv2,resnet18,resnet50 --batch 8
                                           # full STAR per backbone, ONNX Runtime, batch 1 and batched

Prints one line per measurement and the ratios: time / FLOP floor (goal <= 1.5) and the heads' overhead over
the bare backbone (goal <= 25%). FLOPs are 2 x multiply-adds of Conv, MatMul, Gemm and LSTM nodes of the
exported ONNX graph (element-wise work is left out; it is a few percent). With --backbones, the full STAR of
each backbone (the paper's head sizes) runs in turns with the others and the GEMM reference, and each is
reported per tracklet at batch 1 and batched, as a ratio to the last backbone listed (the reference).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gemm_calls(n: int = 2048):
    """Callables doing a float32 n x n matmul in numpy and in onnxruntime, and the FLOPs of one call."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    calls = {"gemm_numpy": lambda: a @ a, "gemm_onnxruntime": lambda: sess.run(None, {"a": a, "b": a})}
    return calls, 2.0 * n ** 3


def onnx_flops(path: str) -> float:
    """2 x multiply-adds of the Conv, MatMul, Gemm and LSTM nodes, from ONNX shape inference."""
    import onnx
    from onnx import shape_inference

    model = shape_inference.infer_shapes(onnx.load(path))
    g = model.graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    shapes.update({t.name: list(t.dims) for t in g.initializer})
    total = 0.0
    for node in g.node:
        ins = [shapes.get(x) for x in node.input]
        out = shapes.get(node.output[0]) if node.output else None
        if node.op_type == "Conv" and out and ins[1]:
            total += 2.0 * np.prod(out) * np.prod(ins[1][1:])
        elif node.op_type in ("MatMul", "Gemm") and out and ins[0]:
            k = ins[0][-1]
            if node.op_type == "Gemm" and any(a.name == "transA" and a.i for a in node.attribute):
                k = ins[0][0]
            total += 2.0 * np.prod(out) * k
        elif node.op_type == "LSTM" and ins[0] and ins[1]:
            seq, batch, feat = ins[0]
            dirs, gates, _ = ins[1]
            hidden = gates // 4
            total += 2.0 * seq * batch * dirs * 4 * hidden * (feat + hidden)
    return total


def model_section(backbone: str, seq_len: int, height: int, width: int, arch: str = "star"):
    """Full STAR, or IBAN with the paper's sizes (its BSTA's LSTM as wide as the backbone's channels)."""
    from starreid.app.config.model import ModelConfig

    if arch == "iban":
        channels = {"resnet50": 2048, "mobilenetv2": 1280}.get(backbone, 512)
        return ModelConfig(arch="iban", backbone=backbone, seq_len=seq_len, height=height, width=width,
                           lstm_hidden=channels)
    return ModelConfig(backbone=backbone, variant="full", seq_len=seq_len, height=height, width=width)


def build(kind: str, backbone: str, seq_len: int, height: int, width: int):
    """'full' STAR inference graph; the 'backbone' alone (both stems, layer1-4, spatial mean -> (B, T, C));
    or the 'heads' alone (frame vectors (B, T, C) + keypoints -> embedding: FG, SG, BN-neck)."""
    from mindspore import nn

    from starreid.reid.export import build_inference_net
    from starreid.reid.models.star import l2_normalize

    net = build_inference_net(model_section(backbone, seq_len, height, width))
    if kind == "full":
        return net

    class Heads(nn.Cell):
        def __init__(self, star):
            super().__init__()
            self.star = star

        def construct(self, x, keypoints):
            g, _, _ = self.star._aggregate(x, keypoints)
            return l2_normalize(self.star.neck(g))

    class Backbone(nn.Cell):
        def __init__(self, star):
            super().__init__()
            self.star = star

        def construct(self, clips, modality):
            frames, mod = self.star._frames(clips, modality)
            return self.star._pool(self.star.backbone(frames, mod), clips.shape[0])

    part = Backbone(net.star) if kind == "backbone" else Heads(net.star)
    part.set_train(False)
    return part


def interleaved(fns: dict, reps: int, inner: dict | None = None) -> dict:
    """Best and median ms of each callable, run in turns so that load from other processes hits all alike."""
    inner = inner or {}
    for fn in fns.values():
        fn()  # warm-up (graph compile, allocator)
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            for _ in range(inner.get(k, 1)):
                t = time.perf_counter()
                fn()
                times[k].append((time.perf_counter() - t) * 1e3)
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def plot(res: dict, runtimes: list, path: str) -> None:
    """Bars of the best ms per tracklet for each part and runtime, with the FLOP floor as a marker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(res["models"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(runtimes)
    for i, rt in enumerate(runtimes):
        ax.bar([k + i * width for k in range(len(kinds))], [res["models"][k][rt + "_ms"] for k in kinds],
               width, label=rt)
    ax.scatter([k + 0.4 - width / 2 for k in range(len(kinds))], [res["models"][k]["floor_ms"] for k in kinds],
               color="black", marker="_", s=400, label="FLOP floor", zorder=3)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(kinds))], kinds)
    ax.set_ylabel("ms per tracklet")
    cfg = res["config"]
    ax.set_title(f"STAR {cfg['backbone']}, {cfg['seq_len']} x {cfg['height']} x {cfg['width']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compare_backbones(args) -> int:
    """Full STAR (and, with --archs star,iban, IBAN) of each backbone in ONNX Runtime, per tracklet (T = seq_len
    frames) at batch 1 and batched. IBAN's rows are named iban-<backbone>."""
    import mindspore as ms
    import onnxruntime as ort

    from starreid.reid.export import build_inference_net, example_inputs

    ms.set_device("CPU")
    backbones = args.backbones.split(",")
    gemm, gemm_flops = gemm_calls()
    calls, res = {}, {"config": vars(args), "backbones": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for backbone, arch in [(b, a) for a in args.archs.split(",") for b in backbones]:
            ms.set_seed(0)
            net = build_inference_net(model_section(backbone, args.seq_len, args.height, args.width, arch))
            name = backbone if arch == "star" else f"{arch}-{backbone}"
            row = res["backbones"][name] = {}
            for batch in (1, args.batch):
                inputs = example_inputs(batch, args.seq_len, args.height, args.width)
                path = os.path.join(tmp, f"{name}-b{batch}")
                ms.export(net, *inputs, file_name=path, file_format="ONNX")
                if batch == 1:
                    row["gflops"] = onnx_flops(path + ".onnx") / 1e9
                sess = ort.InferenceSession(path + ".onnx", providers=["CPUExecutionProvider"])
                feed = {i.name: x.asnumpy() for i, x in zip(sess.get_inputs(), inputs)}
                calls[(name, batch)] = (lambda s, f: lambda: s.run(None, f))(sess, feed)
            print(f"exported {name}: {row['gflops']:.1f} GFLOP per tracklet", flush=True)
        timed = interleaved({**calls, **gemm}, args.reps, {k: 4 for k in gemm})
    rates = {k[5:]: gemm_flops / (timed[k][0] * 1e-3) / 1e9 for k in gemm}
    res["gemm_gflops"] = rates
    print(f"GEMM rate: numpy {rates['numpy']:.1f} GFLOP/s, onnxruntime {rates['onnxruntime']:.1f} GFLOP/s")
    reference = backbones[-1]
    for name in res["backbones"]:
        row = res["backbones"][name]
        for batch, key in ((1, "batch1"), (args.batch, "batched")):
            best, median = timed[(name, batch)]
            row[key + "_ms_per_tracklet"] = best / batch
            row[key + "_median_ms_per_tracklet"] = median / batch
        row["floor_ms"] = row["gflops"] / rates["onnxruntime"] * 1e3
    ref = res["backbones"][reference]
    print(f"per tracklet ({args.seq_len} x {args.height} x {args.width}), onnxruntime, best of "
          f"{args.reps} (median); full STAR unless named iban-:")
    for backbone in res["backbones"]:
        row = res["backbones"][backbone]
        row["ratio_batch1"] = row["batch1_ms_per_tracklet"] / ref["batch1_ms_per_tracklet"]
        row["ratio_batched"] = row["batched_ms_per_tracklet"] / ref["batched_ms_per_tracklet"]
        print(f"  {backbone:16s} {row['gflops']:6.1f} GFLOP  batch 1: {row['batch1_ms_per_tracklet']:7.1f} ms "
              f"({row['batch1_median_ms_per_tracklet']:.1f}), {row['ratio_batch1']:.2f}x {reference}; "
              f"batch {args.batch}: {row['batched_ms_per_tracklet']:7.1f} ms/tracklet "
              f"({row['batched_median_ms_per_tracklet']:.1f}), {row['ratio_batched']:.2f}x {reference}; "
              f"FLOP floor {row['floor_ms']:.1f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="resnet50", choices=("resnet18", "resnet34", "resnet50", "mobilenetv2"),
                   help="backbone of the part-by-part measurement")
    p.add_argument("--backbones", help="comma-separated backbones to compare (full STAR, ONNX Runtime, batch 1 and "
                                       "--batch); the last is the reference of the ratios")
    p.add_argument("--batch", type=int, default=8, help="batch of the batched measurement (--backbones)")
    p.add_argument("--archs", default="star", help="models of the --backbones comparison: star, or star,iban "
                                                   "(IBAN's inference graph beside STAR's)")
    p.add_argument("--seq-len", type=int, default=12, help="frames the model sees per tracklet")
    p.add_argument("--height", type=int, default=288, help="crop height")
    p.add_argument("--width", type=int, default=144, help="crop width")
    p.add_argument("--reps", type=int, help="timed runs per measurement, best and median reported (default 3)")
    p.add_argument("--runtimes", default="onnxruntime,mindspore", help="comma-separated runtimes to time")
    p.add_argument("--quick", action="store_true", help="ResNet-18, 4 frames of 96 x 48, 1 run")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--plot", help="also draw best times against the FLOP floor to this PNG")
    args = p.parse_args(argv)
    if args.quick:
        args.backbone, args.seq_len, args.height, args.width = "resnet18", 4, 96, 48
    args.reps = args.reps or (1 if args.quick else 3)
    if args.backbones:
        return compare_backbones(args)

    import mindspore as ms
    import onnxruntime as ort

    from starreid.reid.export import example_inputs

    ms.set_device("CPU")
    gemm, gemm_flops = gemm_calls()
    clips, kps, mod = example_inputs(1, args.seq_len, args.height, args.width)
    res = {"config": vars(args), "models": {}}
    runtimes = args.runtimes.split(",")
    calls = {rt: {} for rt in runtimes}
    with tempfile.TemporaryDirectory() as tmp:
        channels = {"resnet50": 2048, "mobilenetv2": 1280}.get(args.backbone, 512)
        feats = ms.Tensor(np.random.default_rng(1).random((1, args.seq_len, channels), dtype=np.float32))
        for kind in ("backbone", "heads", "full"):
            net = build(kind, args.backbone, args.seq_len, args.height, args.width)
            inputs = {"backbone": (clips, mod), "heads": (feats, kps), "full": (clips, kps, mod)}[kind]
            path = os.path.join(tmp, kind)
            ms.export(net, *inputs, file_name=path, file_format="ONNX")
            flops = onnx_flops(path + ".onnx")
            res["models"][kind] = {"gflops": flops / 1e9}
            if "onnxruntime" in runtimes:
                sess = ort.InferenceSession(path + ".onnx", providers=["CPUExecutionProvider"])
                feed = {i.name: x.asnumpy() for i, x in zip(sess.get_inputs(), inputs)}
                calls["onnxruntime"][kind] = (lambda s, f: lambda: s.run(None, f))(sess, feed)
            if "mindspore" in runtimes:
                fwd = ms.jit(net.construct)  # the cell's graph, compiled once
                calls["mindspore"][kind] = (lambda f, xs: lambda: f(*xs).asnumpy())(fwd, inputs)
        # GEMM runs take turns with the model runs: the reference sees the same load from other processes.
        best_gemm = {}
        for rt in runtimes:
            for kind, (best, median) in interleaved({**calls[rt], **gemm}, args.reps, {k: 4 for k in gemm}).items():
                if kind.startswith("gemm_"):
                    best_gemm[kind] = min(best, best_gemm.get(kind, best))
                    continue
                res["models"][kind][rt + "_ms"] = best
                res["models"][kind][rt + "_median_ms"] = median
    rates = {k[5:]: gemm_flops / (v * 1e-3) / 1e9 for k, v in best_gemm.items()}
    peak = max(rates.values())
    res["gemm_gflops"] = rates
    print(f"GEMM rate: numpy {rates['numpy']:.1f} GFLOP/s, onnxruntime {rates['onnxruntime']:.1f} GFLOP/s")
    for kind, row in res["models"].items():
        row["floor_ms"] = row["gflops"] / peak * 1e3
        times = ", ".join(f"{rt} {row[rt + '_ms']:.0f} ms (median {row[rt + '_median_ms']:.0f})"
                          for rt in runtimes)
        print(f"{kind:8s} {args.backbone} T={args.seq_len} {args.height}x{args.width}: "
              f"{row['gflops']:.1f} GFLOP, floor {row['floor_ms']:.0f} ms; best of {args.reps}: {times}")
    bb, heads, full = (res["models"][k] for k in ("backbone", "heads", "full"))
    for rt in runtimes:
        key = rt + "_ms"
        ratio = full[key] / full["floor_ms"]
        # The heads timed alone: the difference of two noisy whole-model times hides a small head.
        overhead = heads[key] / bb[key]
        res[rt] = {"ratio_to_floor": ratio, "backbone_ratio_to_floor": bb[key] / bb["floor_ms"],
                   "head_overhead": overhead, "full_minus_backbone": full[key] / bb[key] - 1.0}
        print(f"{rt}: full STAR {ratio:.2f}x the FLOP floor (goal <= 1.5), backbone "
              f"{bb[key] / bb['floor_ms']:.2f}x; heads alone +{overhead * 100:.1f}% of the backbone "
              f"(goal <= 25%; full - backbone: {res[rt]['full_minus_backbone'] * 100:+.1f}%)")
    print(f"heads' FLOPs: {heads['gflops'] / bb['gflops'] * 100:.2f}% of the backbone's")
    if args.plot:
        plot(res, runtimes, args.plot)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
