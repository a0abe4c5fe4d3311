"""Every benchmark in one command: runs the bench scripts (each still usable alone) as subprocesses with --json,
collects what they measured, puts each figure beside the reference measured in the same run and the goal,
and writes bench/results/latest.json, bench/results/latest.md and README's Performance section (between
<!-- bench:begin --> and <!-- bench:end -->).

    python bench/run.py                       # all of it: about 1.5-3 hours on a quiet 2-core machine
    python bench/run.py --quick               # small sizes: a smoke run of every benchmark (~15-25 minutes)
    python bench/run.py --only gallery query  # some of them (names: see --list); README is then left alone
    python bench/run.py --only model --readme # ... and README rewritten from every benchmark's latest result
    python bench/run.py --no-readme           # results files only

Results accumulate: latest.json keeps each benchmark's latest (non-quick) result, with when it ran and the load
average before and after it, and the tables list them. A figure needs a quiet machine, which is why the load
is recorded with it; `--quick` runs are never merged into latest.json nor written into README (they are smoke
tests, not figures)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
BACKBONES = ("mobilenetv2", "resnet18", "resnet34", "resnet50")


@dataclass
class Step:
    """One bench script invocation; its JSON lands in results/<name>.json."""
    name: str
    args: list[str]
    quick: list[str]
    timeout_s: int = 3600


@dataclass
class Bench:
    name: str
    what: str
    steps: list[Step] = field(default_factory=list)


BENCHES = [
    Bench("eval", "HITSZ-VCM evaluation: vectorised vs the per-query loop", [
        Step("eval", ["bench_eval.py"], ["--queries", "1000", "--gallery", "1200", "--repeat", "1"], 1800)]),
    Bench("model", "embedding per tracklet vs the FLOP floor and the bare backbone, per backbone and runtime", [
        *[Step(f"model-{b}", ["bench_model.py", "--backbone", b], ["--quick"] if b == "resnet18" else None, 3600)
          for b in BACKBONES],
        Step("model-batched", ["bench_model.py", "--backbones", ",".join(BACKBONES), "--batch", "8", "--archs",
                               "star,iban"],
             ["--seq-len", "4", "--height", "96", "--width", "48", "--reps", "1"], 3600)]),
    Bench("tracker", "tracker fps on detections (ByteTrack)", [
        Step("tracker", ["bench_tracker.py", "--vtest", VTEST], ["--frames", "2000"], 1800)]),
    Bench("worker", "camera pipeline in-process (HOG, MediaPipe pose, ByteTrack, tracklets)", [
        Step("worker", ["bench_worker.py"], ["--frames", "60", "--repeats", "1"], 1800)]),
    Bench("cameras", "camera fps as a process (embedding off and on) and cameras per machine", [
        Step("cameras", ["bench_cameras.py"], ["--frames", "120", "--max-cameras", "1", "--warmup", "5",
                                               "--window", "20"], 5400)]),
    Bench("gallery", "gallery ingest on one Redis", [
        Step("gallery", ["bench_gallery.py", "--skip-query"], ["--tracklets", "3000", "--repeats", "1"], 1800)]),
    Bench("query", "top-10 query latency and recall at 100k, 1M, 10M exemplars", [
        Step("query", ["bench_gallery.py", "--skip-ingest", "--sizes", "100000", "1000000", "--nprobe", "16", "32"],
             ["--sizes", "20000", "--queries", "300", "--recall-queries", "100", "--nprobe", "16"], 3600),
        Step("query-10m", ["bench_gallery.py", "--skip-ingest", "--compact", "--sizes", "10000000", "--nprobe", "16",
                           "32"],
             ["--compact", "--sizes", "50000", "--queries", "300", "--recall-queries", "100", "--nprobe", "16"],
             4 * 3600)]),
    Bench("cluster", "gallery ingest and the log's ceiling on a 3-master Redis Cluster", [
        Step("cluster", ["bench_cluster.py"], ["--tracklets", "3000", "--xadd", "3000"], 3600)]),
]
NAMES = [b.name for b in BENCHES]


def run_step(step: Step, quick: bool, out_dir: Path) -> dict:
    if quick and step.quick is None:
        return {"skipped": "not part of --quick"}
    out = out_dir / f"{step.name}.json"
    out.unlink(missing_ok=True)
    argv = [sys.executable, str(HERE / step.args[0]), *step.args[1:], *(step.quick if quick else []), "--json",
            str(out)]
    print(f"== {step.name}: {' '.join(argv[1:])}", flush=True)
    load0, started = os.getloadavg()[0], time.monotonic()
    with open(out_dir / f"{step.name}.log", "w") as log:
        try:
            proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, timeout=step.timeout_s)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    meta = {"date": time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() - (time.monotonic() - started))),
            "seconds": round(time.monotonic() - started, 1), "load_before": round(load0, 2),
            "load_after": round(os.getloadavg()[0], 2), "exit": code, "argv": argv[1:-2]}
    tail = (out_dir / f"{step.name}.log").read_text(errors="replace").splitlines()[-3:]
    print("   " + "\n   ".join(tail), flush=True)
    if code != 0 or not out.exists():
        return {"error": f"exit {code}", "log_tail": tail, "_run": meta}
    return {**json.loads(out.read_text()), "_run": meta}


# ------------------------------------------------------------------ figures
def row(area, figure, value, unit="", reference=None, ref_label="", ratio=None, goal="", met=None, note=""):
    return {"area": area, "figure": figure, "value": value, "unit": unit, "reference": reference,
            "reference_label": ref_label, "ratio": ratio, "goal": goal, "met": met, "note": note}


def figures(results: dict) -> list[dict]:
    rows = []
    e = results.get("eval", {})
    if "speedup" in e:
        rows.append(row("evaluation", f"HITSZ-VCM protocol, {e['queries']} x {e['gallery']}", e["vectorised_s"], "s",
                        e["loop_s"], "per-query loop (s)", e["speedup"], ">= 20x", e["speedup"] >= 20,
                        "ratio = speed-up"))
    for b in BACKBONES:
        m = results.get(f"model-{b}", {})
        if "models" not in m:
            continue
        cfg = m["config"]
        shape = f"{cfg['seq_len']} x {cfg['height']} x {cfg['width']}"
        for rt in ("onnxruntime", "mindspore"):
            if rt not in m:
                continue
            full = m["models"]["full"]
            rows.append(row("embedding", f"STAR {cfg['backbone']} {shape}, {rt}, batch 1", full[f"{rt}_ms"],
                            "ms/tracklet", full["floor_ms"], "FLOP floor (ms)", m[rt]["ratio_to_floor"], "<= 1.5",
                            m[rt]["ratio_to_floor"] <= 1.5))
            rows.append(row("embedding", f"heads over the bare backbone ({cfg['backbone']}, {rt})",
                            m["models"]["heads"][f"{rt}_ms"], "ms", m["models"]["backbone"][f"{rt}_ms"],
                            "bare backbone (ms)", m[rt]["head_overhead"], "<= 0.25", m[rt]["head_overhead"] <= 0.25))
    mb = results.get("model-batched", {})
    for b, r in mb.get("backbones", {}).items():
        cfg = mb["config"]
        ref = cfg["backbones"].split(",")[-1]
        label = f"IBAN {b[5:]}" if b.startswith("iban-") else f"STAR {b}"
        rows.append(row("embedding", f"{label} per 24-frame tracklet (the model sees {cfg['seq_len']} frames, {cfg['height']} x "
                        f"{cfg['width']}), onnxruntime, batch {cfg['batch']}", r["batched_ms_per_tracklet"],
                        "ms/tracklet", r["floor_ms"], "FLOP floor (ms)", r["batched_ms_per_tracklet"] / r["floor_ms"],
                        "<= 1.5", r["batched_ms_per_tracklet"] / r["floor_ms"] <= 1.5,
                        f"{r['gflops']:.1f} GFLOP; batch 1: {r['batch1_ms_per_tracklet']:.1f} ms; time / {ref}'s: "
                        f"{r['ratio_batch1']:.2f} at batch 1, {r['ratio_batched']:.2f} batched"))
    t = results.get("tracker", {})
    for key, label in (("synthetic", "synthetic scene"), ("vtest", "vtest.avi HOG detections")):
        if key in t:
            rows.append(row("tracker", f"ByteTrack, {label}", t[key]["fps"], "fps", t[key]["floor_fps"],
                            "association floor (fps)", t[key]["ratio_to_floor"], ">= 1500 fps", t[key]["fps"] >= 1500))
    w = results.get("worker", {})
    for v in w.get("variants", []):
        rows.append(row("camera", f"pipeline in-process: {v['label']}", v["fps"], "fps", w["decode_fps"],
                        "decoding alone (fps)", v["ratio_to_decode"], ">= 10 fps", v["fps"] >= 10))
    c = results.get("cameras", {})
    for key in ("embedding_off", "embedding_on"):
        if key in c.get("camera", {}):
            r = c["camera"][key]
            rows.append(row("camera", f"worker process, file source, {key.replace('_', ' ')} ({c['model']['kind']} "
                            f"model)", r["fps"], "fps", c["camera"]["decode_fps"], "decoding alone (fps)",
                            r["ratio_to_decode"], ">= 10 fps", r["fps"] >= 10))
    if "per_machine" in c:
        pm = c["per_machine"]
        last = pm["trials"][-1]
        rows.append(row("camera", f"cameras per machine ({c['cpus']} cores, live 10 fps, embedding on)",
                        pm["max_cameras"], "cameras", None, "", None, ">= 1",
                        pm["max_cameras"] >= 1, f"at {last['cameras']}: min {last['min_fps']:.1f} fps processed"))
        for trial in pm["trials"]:
            if trial["cameras"] == max(1, pm["max_cameras"]):
                for proc, mb_ in sorted(trial["peak_rss_mb"].items()):
                    rows.append(row("memory", f"peak RSS, {proc} ({trial['cameras']} camera deployment)", mb_, "MiB"))
    g = results.get("gallery", {}).get("ingest")
    if g:
        rows.append(row("gallery", f"ingest, one Redis ({g['tracklets']:,} tracklets, {g['dim']}-d)", g["rate_per_s"],
                        "tracklets/s", g["reference_xadd_per_s"], "pipelined XADD (/s)", g["ratio_to_reference"],
                        ">= 2000/s", g["rate_per_s"] >= 2000,
                        (f"median of {g['runs']} runs ({g['rate_min_per_s']:,.0f}-{g['rate_max_per_s']:,.0f}); "
                         if g.get("runs", 1) > 1 else "") +
                        f"gallery CPU {g['gallery_cpu_ms_per_tracklet']:.2f} ms, Redis CPU "
                        f"{g['redis_cpu_ms_per_tracklet']:.2f} ms per tracklet; load {g.get('load_avg', 0):.1f}"))
        rows.append(row("memory", "peak RSS, gallery (ingest benchmark)", g.get("gallery_peak_rss_mb"), "MiB"))
    k = results.get("cluster", {})
    if "xadd_three_masters" in k:
        rows.append(row("cluster", "log ceiling: XADD by 3 clients into 3 masters", k["xadd_three_masters"][
            "aggregate_per_s"], "/s", k["xadd_one_server"]["aggregate_per_s"], "one client, one server (/s)",
            k["xadd_three_masters"]["ratio_to_one_server"], "", None, f"{k['cpus']} cores for 3 servers + 3 clients"))
    if "gallery_cluster" in k:
        gc = k["gallery_cluster"]
        rows.append(row("cluster", "gallery ingest, 3-master cluster (one hash tag: one master)", gc["rate_per_s"],
                        "tracklets/s", k["gallery_one_server"]["rate_per_s"], "one redis-server (/s)",
                        gc["ratio_to_one_server"], ">= 10000/s", gc["rate_per_s"] >= 10000,
                        f"limit: one resolver, ~{k['limit']['resolver_bound_per_s']:,.0f}/s"))
    for key in ("query", "query-10m"):
        for q in results.get(key, {}).get("query", []):
            mem = q.get("memory_mb", {})
            rows.append(row("query", f"top-10 at {q['identities']:,} exemplars, nprobe {q['nprobe']}"
                            f"{', compact' if q.get('compact') else ''}", q["p99_ms"], "ms p99", q["exact_p50_ms"],
                            "exact search p50 (ms)", q["speedup_vs_exact"], "p99 <= 10 ms, recall@1 >= 0.95",
                            q["p99_ms"] <= 10 and q["recall_at_1"] >= 0.95,
                            f"p50 {q['p50_ms']:.2f} ms, CPU-time p99 {q['cpu_p99_ms']:.2f} ms, recall@1 {q['recall_at_1']:.3f}, "
                            + (f"memory {sum(mem.values()):,.0f} MiB ({', '.join(f'{a} {b:,.0f}' for a, b in mem.items())})"
                               if mem else f"rows {q['store']}")))
        peak = results.get(key, {}).get("peak_rss_mb")
        if peak:
            rows.append(row("memory", f"peak RSS, query benchmark process ({key})", peak, "MiB"))
    return rows


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, int) or (isinstance(v, float) and abs(v) >= 100):
        return f"{v:,.0f}"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def markdown(rows: list[dict], meta: dict, results: dict) -> str:
    lines = [f"_{meta['machine']}, Python {meta['python']}{', QUICK (smoke sizes)' if meta['quick'] else ''}, "
             f"`python bench/run.py`. The machine may be shared: each benchmark's commit and 1-minute load average "
             f"before and after it are listed below the table._", "",
             "| area | figure | value | reference (same run) | ratio | goal | met | notes |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = f"{_fmt(r['reference'])} {r['reference_label']}".strip() if r["reference"] is not None else ""
        lines.append(f"| {r['area']} | {r['figure']} | {_fmt(r['value'])} {r['unit']} | {ref} | {_fmt(r['ratio'])} | "
                     f"{r['goal']} | {_fmt(r['met']) if r['met'] is not None else ''} | {r['note']} |")
    lines += ["", "| benchmark step | measured | commit | seconds | load before | load after | result |",
              "|---|---|---|---|---|---|---|"]
    for bench in BENCHES:
        for step in bench.steps:
            res = results.get(step.name)
            if res is None:
                lines.append(f"| {step.name} | not run | | | | | |")
                continue
            run = res.get("_run", {})
            outcome = res.get("skipped") or res.get("error") or "ok"
            lines.append(f"| {step.name} | {run.get('date', '')} | {run.get('commit', '?')} | {run.get('seconds', '')} "
                         f"| {run.get('load_before', '')}"
                         f" | {run.get('load_after', '')} | {outcome} |")
    return "\n".join(lines)


def rewrite_readme(readme: Path, table: str) -> None:
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: no {BEGIN} ... {END} markers")
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{table}\n{END}", text))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run (not written into README)")
    ap.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME", help=f"only these: {', '.join(NAMES)}")
    ap.add_argument("--skip", nargs="+", choices=NAMES, default=[], metavar="NAME", help="all but these")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for latest.json, latest.md and the logs")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite README's Performance section")
    ap.add_argument("--readme", action="store_true", help="rewrite it even with --only/--skip (from every "
                    "benchmark's latest result in latest.json)")
    ap.add_argument("--steps", nargs="+", metavar="STEP", help="only these steps of the chosen benchmarks "
                    "(e.g. query; the step names are listed under the table)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    if args.list:
        for b in BENCHES:
            print(f"{b.name:8s} {b.what} (steps: {', '.join(s.name for s in b.steps)})")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHES if (not args.only or b.name in args.only) and b.name not in args.skip]
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{os.cpu_count()} x {cpu_name()}",
            "python": platform.python_version(), "quick": args.quick, "load_before": round(os.getloadavg()[0], 2),
            "benchmarks": [b.name for b in chosen]}
    try:
        meta["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                        cwd=ROOT).stdout.strip() + (" (uncommitted changes)" if subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT).stdout.strip() else "")
    except OSError:
        pass
    results = {}
    previous = out / "latest.json"
    if not args.quick and previous.exists():  # keep the latest result of every benchmark not run now
        old = json.loads(previous.read_text())
        if not old.get("meta", {}).get("quick"):
            results = {k: v for k, v in old.get("results", {}).items() if "error" not in v and "skipped" not in v}
    ran = []
    for bench in chosen:
        for step in bench.steps:
            if args.steps and step.name not in args.steps:
                continue
            got = run_step(step, args.quick, out)
            got.setdefault("_run", {})["commit"] = meta.get("commit", "?")  # results accumulate: each keeps its commit
            if "error" in got and step.name in results:
                print(f"   {step.name} failed; latest.json keeps its previous result", file=sys.stderr)
                results[f"{step.name} (failed run)"] = got
            else:
                results[step.name] = got
            ran.append(step.name)
    meta["load_after"] = round(os.getloadavg()[0], 2)
    meta["ran_now"] = ran
    rows = figures(results)
    table = markdown(rows, meta, results)
    (out / "latest.json").write_text(json.dumps({"meta": meta, "figures": rows, "results": results}, indent=1))
    (out / "latest.md").write_text(table + "\n")
    print(table)
    failed = [k for k in ran if "error" in results.get(k, {}) or f"{k} (failed run)" in results]
    if failed:
        print(f"failed: {', '.join(failed)} (see {out}/<name>.log)", file=sys.stderr)
    if not args.no_readme and not args.quick and (args.readme or not (args.only or args.skip or args.steps)):
        rewrite_readme(ROOT / "README.md", table)
        print("README.md: Performance section rewritten")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
