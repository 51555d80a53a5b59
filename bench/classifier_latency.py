#!/usr/bin/python3
"""Latency per inference of the demo classifier, batch 1: loom's reference
backend (examples/classifier via build/loom-classify) beside PyTorch on CPU,
same weights, same 20 test samples, one thread.

    /usr/bin/python3 bench/classifier_latency.py [--rounds N]

Needs Debian's python3-torch and python3-onnx, and a built ./build/loom-classify.
"""
import argparse
import os
import re
import subprocess
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "examples", "classifier")


def torch_model():
    """The classifier rebuilt in PyTorch from the ONNX file's weights."""
    model = onnx.load(os.path.join(DEMO, "classifier.onnx"))
    w = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    gemms = [n for n in model.graph.node if n.op_type == "Gemm"]
    net = torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.ReLU(),
                              torch.nn.Linear(10, 1), torch.nn.Sigmoid())
    with torch.no_grad():
        for layer, node in zip((net[0], net[2]), gemms):
            layer.weight.copy_(torch.from_numpy(w[node.input[1]].copy()))
            layer.bias.copy_(torch.from_numpy(w[node.input[2]].copy()))
    return net.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    net = torch_model()
    x = np.load(os.path.join(DEMO, "test_x.npy"))
    golden = np.load(os.path.join(DEMO, "torch_probs.npy"))
    samples = [torch.from_numpy(x[i:i + 1]) for i in range(len(x))]
    with torch.no_grad():
        got = np.concatenate([net(s).numpy() for s in samples])
        assert np.allclose(got, golden, atol=1e-6), "rebuilt model disagrees with torch_probs.npy"
        for s in samples * 50:  # warm-up
            net(s)
        times = []
        for r in range(args.rounds):
            s = samples[r % len(samples)]
            t0 = time.perf_counter_ns()
            net(s)
            times.append((time.perf_counter_ns() - t0) / 1000.0)
    times.sort()
    torch_med = times[len(times) // 2]

    out = subprocess.run([os.path.join(ROOT, "build", "loom-classify"), DEMO],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"median ([0-9.]+) us, min ([0-9.]+) us", out)
    loom_med = float(m.group(1))
    print(f"demo classifier, batch 1, one thread, {args.rounds} inferences each")
    print(f"  loom ref (C API, set input + run):  median {loom_med:8.2f} us")
    print(f"  PyTorch {torch.__version__} (no_grad forward):  median {torch_med:8.2f} us "
          f"(min {times[0]:.2f})")
    print(f"  PyTorch / loom = {torch_med / loom_med:.1f}x")


if __name__ == "__main__":
    main()
