#!/usr/bin/python3
"""End-to-end latency per inference: loom on each device (ref, OpenCL on
PoCL, auto) beside PyTorch on the CPU, same model, same input, same thread
count, one run of this script.

    /usr/bin/python3 bench/e2e_latency.py [--runs N] [--threads T] [--json]

Models: the fixture CNN (LeNet, batch 2) and transformer encoder layer
(opset 17, batch 2 x 8 tokens x 32), both tiny, and a larger encoder layer
(d_model 256, 8 heads, ff 1024, batch 4 x 128 tokens) exported here to a
temporary folder, where kernels rather than launch overheads dominate.

loom is timed with `loom run --repeat N --json` (median, after a warm-up
run); PyTorch with time.perf_counter around forward() under no_grad
(median of N after warm-up). Needs Debian's python3-torch and python3-onnx
and a built ./build/loom.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "models"))
import make_fixtures as fx  # noqa: E402  (the fixtures' own model classes)

LOOM = os.path.join(ROOT, "build", "loom")


def lenet():
    torch.manual_seed(1)
    return fx.he_init(fx.LeNet(), torch.Generator().manual_seed(11)).eval()


def export_big(folder):
    """The larger encoder layer, exported at opset 17 with its input."""
    layer = fx.encoder_layer(256, 8, 1024)
    x = fx.seeded_input(201, (4, 128, 256))
    path = os.path.join(folder, "big.onnx")
    with torch.enable_grad():  # the exportable (non fast-path) forward
        torch.onnx.export(layer, torch.from_numpy(x), path, opset_version=17,
                          input_names=["x"], output_names=["y"])
    np.save(os.path.join(folder, "big_x.npy"), x)
    return layer, path, os.path.join(folder, "big_x.npy")


def time_torch(model, x, runs):
    xt = torch.from_numpy(x)
    with torch.no_grad():
        for _ in range(3):
            model(xt)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(xt)
            times.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(times)


def time_loom(model_path, x_path, device, runs, env):
    out = subprocess.run([LOOM, "run", model_path, "-i", f"x={x_path}", "--device", device,
                          "--repeat", str(runs), "--json"],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1] if out.stderr else "failed"
    doc = json.loads(out.stdout)
    devices = sorted({s["device"] for s in doc["subgraphs"]})
    return doc["latency"]["median_us"], "+".join(devices)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    env = dict(os.environ)
    env.setdefault("POCL_MAX_PTHREAD_COUNT", str(args.threads))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        big, big_path, big_x = export_big(tmp)
        cases = [
            ("lenet (fixture, batch 2)", lenet(),
             os.path.join(ROOT, "tests/models/lenet/model.onnx"),
             os.path.join(ROOT, "tests/models/lenet/x.npy")),
            ("transformer17 (fixture, 2x8x32)", fx.encoder_layer(32, 4, 64),
             os.path.join(ROOT, "tests/models/transformer17/model.onnx"),
             os.path.join(ROOT, "tests/models/transformer17/x.npy")),
            ("encoder d256 (4x128x256)", big, big_path, big_x),
        ]
        for name, model, path, xp in cases:
            x = np.load(xp)
            row = {"model": name, "torch_us": time_torch(model, x, args.runs)}
            for dev in ("ref", "opencl", "auto"):
                us, where = time_loom(path, xp, dev, args.runs, env)
                row[f"{dev}_us"] = us
                row[f"{dev}_on"] = where
            rows.append(row)
    if args.json:
        print(json.dumps({"threads": args.threads, "runs": args.runs, "rows": rows}, indent=2))
        return
    print(f"median latency per inference, us ({args.threads} threads, {args.runs} runs each; "
          f"PyTorch {torch.__version__})")
    print(f"{'model':34} {'PyTorch':>10} {'loom ref':>10} {'loom opencl':>12} {'loom auto':>10}"
          f"  {'opencl/torch':>12}  auto placed on")
    for r in rows:
        def f(v):
            return f"{v:10.1f}" if isinstance(v, (int, float)) else f"{'-':>10}"
        ratio = (r["opencl_us"] / r["torch_us"]) if r["opencl_us"] else float("nan")
        print(f"{r['model']:34} {f(r['torch_us'])} {f(r['ref_us'])} {f(r['opencl_us']):>12} "
              f"{f(r['auto_us'])}  {ratio:12.2f}  {r['auto_on']}")


if __name__ == "__main__":
    main()
