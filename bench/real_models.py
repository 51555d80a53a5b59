#!/usr/bin/python3
"""Real architectures on the CPU: loom (auto and each device) beside ONNX
Runtime's CPU execution provider and PyTorch, same models, same inputs, same
thread count, one run of this script.

    /usr/bin/python3 bench/real_models.py [--models LIST] [--runs N]
        [--threads T] [--devices auto,opencl:0,ref] [--budget S] [--json FILE]

Models (written here with Debian's torch/torchvision: seeded random weights,
eval mode, BatchNorm statistics randomised away from the 0/1 defaults; kept
in build/bench-models, not in git, regenerated when missing):

  resnet18, resnet50, resnet50_b4, mobilenet_v2, efficientnet_b0 (1x3x224x224,
  resnet50_b4 at batch 4), bert4 (a BERT-base-shaped encoder: 4 layers,
  hidden 768, 12 heads, ff 3072, sequence 128), gpt (a causal decoder with
  token and position embeddings: 4 layers, d 256, 4 heads, vocabulary 4096,
  64 tokens), and resnet18_b8, mobilenet_v2_b8 for batch throughput.

Each (model, peer) pair runs in its own process: `loom run --repeat N --json`
for loom; a worker process of this script for ONNX Runtime (from PyPI, in a
venv this script makes at build/bench-venv: a benchmark-only peer, never a
dependency of loom) and for PyTorch. Latency is per inference after warm-up
(median and p90 of N runs; fewer runs, at least 3, where one run takes longer
than --budget / N), peak RSS is the process's maximum resident set (wait4),
and loom's outputs are checked against ONNX Runtime's (max relative error).
The summary is the loom-auto / ONNX Runtime latency ratio per model and its
geometric mean over the latency models; beside it, auto against the fastest
single-device placement measured in the same run (auto/best), and the cost
model's predicted latency (loom run --json's latency.predicted_us) against
auto's measured one (pred/auto).
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOM = os.path.join(ROOT, "build", "loom")
CACHE = os.path.join(ROOT, "build", "bench-models")
VENV = os.path.join(ROOT, "build", "bench-venv")
ORT_PIN = "onnxruntime==1.32.0"

LATENCY_MODELS = ["resnet18", "resnet50", "resnet50_b4", "mobilenet_v2", "efficientnet_b0", "bert4", "gpt"]
THROUGHPUT_MODELS = ["resnet18_b8", "mobilenet_v2_b8"]


# --------------------------------------------------------------------------
# models (Debian's torch; imported lazily: the ONNX Runtime worker has no torch)
# --------------------------------------------------------------------------

def _randomise(model, seed):
    import torch
    from torch import nn
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                mod.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
                mod.weight.copy_(torch.rand(c, generator=gen) * 0.5 + 0.5)
                mod.bias.copy_(torch.randn(c, generator=gen) * 0.1)
            elif isinstance(mod, nn.LayerNorm):
                mod.weight.copy_(1.0 + 0.1 * torch.randn(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=gen))
    return model.eval()


def _vision(name, batch):
    import numpy as np
    import torch
    import torchvision
    torch.manual_seed(7)
    model = getattr(torchvision.models, name)(weights=None)
    x = np.random.default_rng(5).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    return _randomise(model, 11), {"x": x}


def _encoder(layers, d, heads, ff, seq, batch):
    import numpy as np
    import torch
    from torch import nn
    torch.manual_seed(3)
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu", batch_first=True)
    model = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
    x = np.random.default_rng(6).standard_normal((batch, seq, d)).astype(np.float32)
    return _randomise(model, 12), {"x": x}


def _decoder():
    import numpy as np
    import torch
    from torch import nn

    class Decoder(nn.Module):
        """GPT-style: token + learned position embeddings, pre-norm causal
        self-attention blocks, a final LayerNorm and the LM head."""

        def __init__(self, vocab=4096, d=256, heads=4, layers=4, seq=64):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
            block = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.register_buffer("mask", torch.triu(torch.full((seq, seq), float("-inf")), diagonal=1))

        def forward(self, tokens):
            h = self.tok(tokens) + self.pos[:, : tokens.shape[1]]
            return self.head(self.norm(self.blocks(h, mask=self.mask)))

    torch.manual_seed(4)
    model = Decoder()
    tokens = np.random.default_rng(8).integers(0, 4096, (1, 64)).astype(np.int64)
    return _randomise(model, 13), {"tokens": tokens}


def build(name):
    """(torch module in eval mode, {input name: numpy array})"""
    table = {
        "resnet18": lambda: _vision("resnet18", 1),
        "resnet50": lambda: _vision("resnet50", 1),
        "resnet50_b4": lambda: _vision("resnet50", 4),
        "mobilenet_v2": lambda: _vision("mobilenet_v2", 1),
        "efficientnet_b0": lambda: _vision("efficientnet_b0", 1),
        "resnet18_b8": lambda: _vision("resnet18", 8),
        "mobilenet_v2_b8": lambda: _vision("mobilenet_v2", 8),
        "bert4": lambda: _encoder(4, 768, 12, 3072, 128, 1),
        "gpt": _decoder,
    }
    return table[name]()


def ensure_torch():
    """Debian's torch and torchvision write the models (and are the PyTorch
    peer): installed by scripts/deps.sh's models list when missing."""
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        return
    except ImportError:
        pass
    print("installing the benchmark's Debian packages (scripts/deps.sh: models)", file=sys.stderr)
    rc = subprocess.call(["bash", "-c", ". scripts/deps.sh && loom_install_deps models"], cwd=ROOT)
    try:
        import torch  # noqa: F401,F811
        import torchvision  # noqa: F401,F811
    except ImportError:
        sys.exit("torch/torchvision not importable by %s (install exit %d): apt-get install "
                 "python3-torch python3-torchvision" % (sys.executable, rc))


def export(name):
    """build/bench-models/NAME/{model.onnx, <input>.npy}, written once."""
    import numpy as np
    import torch
    folder = os.path.join(CACHE, name)
    done = os.path.join(folder, "inputs.json")
    if os.path.exists(done):
        with open(done) as f:
            return folder, json.load(f)
    os.makedirs(folder, exist_ok=True)
    model, inputs = build(name)
    names = list(inputs)
    args = tuple(torch.from_numpy(inputs[k]) for k in names)
    tmp = os.path.join(folder, "model.onnx.tmp")
    with torch.enable_grad():  # the exportable forward, not the fused inference fast path
        torch.onnx.export(model, args, tmp, opset_version=17, input_names=names, output_names=["y"],
                          do_constant_folding=True)
    os.replace(tmp, os.path.join(folder, "model.onnx"))
    for k in names:
        np.save(os.path.join(folder, f"{k}.npy"), inputs[k])
    with open(done + ".tmp", "w") as f:
        json.dump(names, f)
    os.replace(done + ".tmp", done)
    return folder, names


# --------------------------------------------------------------------------
# workers: one process per (model, peer)
# --------------------------------------------------------------------------

def _time(fn, runs, budget):
    fn()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    n = max(3, min(runs, int(budget / max(first, 1e-9))))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e6)
    return stats(times)


def stats(times):
    times = sorted(times)
    return {"runs": len(times), "median_us": statistics.median(times),
            "p90_us": times[math.ceil(0.9 * len(times)) - 1]}


def worker(args):
    import numpy as np
    folder, names = args.worker_model, json.loads(args.worker_inputs)
    feeds = {k: np.load(os.path.join(folder, f"{k}.npy")) for k in names}
    if args.worker == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(folder, "model.onnx"), so, providers=["CPUExecutionProvider"])
        out = {}

        def run():
            out["y"] = sess.run(None, feeds)[0]
        res = _time(run, args.runs, args.budget)
        np.save(os.path.join(args.worker_out, "y.npy"), out["y"])
        res["version"] = ort.__version__
    else:
        import torch
        torch.set_num_threads(args.threads)
        model, _ = build(os.path.basename(folder))
        xs = tuple(torch.from_numpy(feeds[k]) for k in names)

        def run():
            with torch.no_grad():
                model(*xs)
        res = _time(run, args.runs, args.budget)
        res["version"] = torch.__version__
    print(json.dumps(res))


def spawn(cmd, env, timeout):
    """Run cmd; (returncode, stdout, stderr, peak RSS in MiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        t0 = time.monotonic()
        hwm = None
        while True:
            hwm = _vm_hwm_kib(p.pid) or hwm
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > timeout:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                status = -1
                break
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        rc = os.waitstatus_to_exitcode(status) if status != -1 else 124
        return rc, out.read().decode(), err.read().decode(), (hwm or ru.ru_maxrss) / 1024.0


def _vm_hwm_kib(pid):
    """The process's peak RSS so far (VmHWM, KiB), or None once it has gone.

    Not wait4's ru_maxrss: on Linux that starts from this (parent) process's
    own peak, inherited through fork and kept across exec, so every child
    would report at least the size of the Python that spawned it."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else "failed"


def run_loom(folder, names, device, args, env, out_dir):
    model = os.path.join(folder, "model.onnx")
    feeds = []
    for k in names:
        feeds += ["-i", f"{k}={os.path.join(folder, k + '.npy')}"]
    # a probe run (one warm run) writes the outputs and sizes the timed run
    rc, out, err, _ = spawn([LOOM, "run", model, *feeds, "--device", device, "--repeat", "1", "--json",
                             "--out", out_dir], env, args.timeout)
    if rc != 0:
        return {"error": "timed out" if rc == 124 else last_line(err)}
    first = json.loads(out)["latency"]["median_us"] / 1e6
    n = max(3, min(args.runs, int(args.budget / max(first, 1e-9))))
    rc, out, err, rss = spawn([LOOM, "run", model, *feeds, "--device", device, "--repeat", str(n), "--json"],
                              env, args.timeout)
    if rc != 0:
        return {"error": "timed out" if rc == 124 else last_line(err)}
    doc = json.loads(out)
    lat = doc["latency"]
    placed = {}
    for s in doc["subgraphs"]:
        placed[s["device"]] = placed.get(s["device"], 0) + s.get("nodes", 0)
    return {"runs": lat["runs"], "median_us": lat["median_us"], "p90_us": lat["p90_us"], "rss_mib": rss,
            "placed": placed, "predicted_us": lat.get("predicted_us")}


def run_peer(peer, folder, names, args, env, out_dir):
    py = os.path.join(VENV, "bin", "python") if peer == "ort" else "/usr/bin/python3"
    cmd = [py, os.path.abspath(__file__), "--worker", peer, "--worker-model", folder,
           "--worker-inputs", json.dumps(names), "--worker-out", out_dir, "--runs", str(args.runs),
           "--threads", str(args.threads), "--budget", str(args.budget)]
    rc, out, err, rss = spawn(cmd, env, args.timeout)
    if rc != 0:
        return {"error": "timed out" if rc == 124 else last_line(err)}
    res = json.loads(last_line(out))
    res["rss_mib"] = rss
    return res


def ensure_ort():
    """The ONNX Runtime venv; None when it is ready, else why not."""
    py = os.path.join(VENV, "bin", "python")
    probe = [py, "-c", "import onnxruntime, numpy"]
    if os.path.exists(py) and subprocess.run(probe, capture_output=True).returncode == 0:
        return None
    r = subprocess.run(["/usr/bin/python3", "-m", "venv", VENV], capture_output=True, text=True)
    if r.returncode != 0:
        return "python3 -m venv failed (apt-get install python3-venv): " + last_line(r.stderr)
    r = subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", ORT_PIN], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return f"pip install {ORT_PIN} failed: " + last_line(r.stderr)
    return None


def rel_err(a_path, b_path):
    import numpy as np
    if not (os.path.exists(a_path) and os.path.exists(b_path)):
        return None
    a, b = np.load(a_path).astype(np.float64), np.load(b_path).astype(np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------

def ms(r):
    return f"{r['median_us'] / 1e3:9.2f}" if r and "median_us" in r else f"{'-':>9}"


def p90(r):
    return f"{r['p90_us'] / 1e3:8.2f}" if r and "p90_us" in r else f"{'-':>8}"


def mib(r):
    return f"{r['rss_mib']:7.0f}" if r and "rss_mib" in r else f"{'-':>7}"


def report(rows, args, peers):
    print(f"\nlatency per inference, ms (median and p90), peak RSS in MiB; {args.threads} threads; "
          f"loom {' '.join(args.devices)}; {', '.join(peers)}")
    cols = [("loom " + d, d) for d in args.devices] + [(p, p) for p in peers]
    head = f"{'model':16}" + "".join(f" {c[0]:>26}" for c in cols) + f" {'auto/ORT':>9} {'auto/torch':>10}"
    head += f" {'auto/best':>9} {'pred/auto':>9}"
    print(head)
    print(f"{'':16}" + "".join(f" {'median':>9} {'p90':>8} {'RSS':>7}" for _ in cols))
    ratios = []
    for r in rows:
        line = f"{r['model']:16}"
        for _, key in cols:
            line += f" {ms(r['res'].get(key))} {p90(r['res'].get(key))} {mib(r['res'].get(key))}"
        auto, o, t = r["res"].get("auto"), r["res"].get("ort"), r["res"].get("torch")
        ro = auto["median_us"] / o["median_us"] if auto and o and "median_us" in auto and "median_us" in o else None
        rt = auto["median_us"] / t["median_us"] if auto and t and "median_us" in auto and "median_us" in t else None
        r["auto_over_ort"], r["auto_over_torch"] = ro, rt
        if ro and r["model"] in LATENCY_MODELS:
            ratios.append(ro)
        line += f" {ro:9.2f}" if ro else f" {'-':>9}"
        line += f" {rt:10.2f}" if rt else f" {'-':>10}"
        # auto against the fastest single-device placement measured (each
        # device named alone, ref taking what it cannot run), and the cost
        # model's predicted latency against auto's measured one
        singles = [r["res"][d]["median_us"] for d in args.devices
                   if d != "auto" and "," not in d and "median_us" in (r["res"].get(d) or {})]
        ok = auto and "median_us" in auto
        r["auto_over_best"] = auto["median_us"] / min(singles) if ok and singles else None
        r["predicted_over_auto"] = (auto["predicted_us"] / auto["median_us"]
                                    if ok and auto.get("predicted_us") else None)
        for k, w in (("auto_over_best", 9), ("predicted_over_auto", 9)):
            line += f" {r[k]:{w}.2f}" if r[k] else f" {'-':>{w}}"
        print(line)
    if ratios:
        print(f"geometric mean of auto/ONNX Runtime over {len(ratios)} latency models: "
              f"{math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f} (max {max(ratios):.2f})")
    for r in rows:
        errs = []
        for key, res in r["res"].items():
            if res and "error" in res:
                errs.append(f"{key}: {res['error']}")
        if r.get("err_vs_ort") is not None:
            errs.append(f"max relative |loom auto - ORT| {r['err_vs_ort']:.2e}")
        if r["res"].get("auto", {}).get("placed"):
            errs.append("auto placed " + ", ".join(f"{k} {v} nodes" for k, v in r["res"]["auto"]["placed"].items()))
        print(f"  {r['model']}: " + "; ".join(errs))
    tp = [r for r in rows if r["model"] in THROUGHPUT_MODELS]
    if tp:
        print("\nbatch throughput, images/s at batch 8")
        print(f"{'model':16}" + "".join(f" {c[0]:>14}" for c in cols))
        for r in tp:
            line = f"{r['model']:16}"
            for _, key in cols:
                res = r["res"].get(key)
                line += f" {8e6 / res['median_us']:14.1f}" if res and "median_us" in res else f" {'-':>14}"
            print(line)


def main():
    global LOOM
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(LATENCY_MODELS + THROUGHPUT_MODELS),
                    help="comma-separated (default: all)")
    ap.add_argument("--devices", default="auto,opencl:0,ref", help="loom devices, comma-separated")
    ap.add_argument("--peers", default="ort,torch", help="ort, torch, or both (comma-separated)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per peer and model (default 10)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every peer (default 2)")
    ap.add_argument("--budget", type=float, default=20.0,
                    help="seconds of timed runs per peer and model: fewer runs (at least 3) where slower")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--loom", metavar="PATH", default=LOOM,
                    help="the loom binary (default: build/loom; another build to compare before/after)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-model", help=argparse.SUPPRESS)
    ap.add_argument("--worker-inputs", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    args.devices = [d for d in args.devices.split(",") if d]
    peers = [p for p in args.peers.split(",") if p]
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in LATENCY_MODELS + THROUGHPUT_MODELS:
            sys.exit(f"unknown model '{m}' (known: {', '.join(LATENCY_MODELS + THROUGHPUT_MODELS)})")
    LOOM = args.loom
    if not os.access(LOOM, os.X_OK):
        sys.exit(f"{LOOM} not found: build loom first (see README)")
    ensure_torch()
    if "ort" in peers:
        why = ensure_ort()
        if why:
            print(f"ONNX Runtime left out: {why}", file=sys.stderr)
            peers.remove("ort")
    env = dict(os.environ)
    env["POCL_MAX_PTHREAD_COUNT"] = str(args.threads)
    env["OMP_NUM_THREADS"] = str(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in models:
            print(f"{m}: exporting" if not os.path.exists(os.path.join(CACHE, m, "inputs.json")) else f"{m}:",
                  end="", flush=True, file=sys.stderr)
            folder, names = export(m)
            row = {"model": m, "res": {}}
            outs = {}
            for key in args.devices + peers:
                out_dir = os.path.join(tmp, m, key.replace(":", "_"))
                os.makedirs(out_dir)
                outs[key] = out_dir
                print(f" {key}", end="", flush=True, file=sys.stderr)
                if key in ("ort", "torch"):
                    row["res"][key] = run_peer(key, folder, names, args, env, out_dir)
                else:
                    row["res"][key] = run_loom(folder, names, key, args, env, out_dir)
            print(file=sys.stderr)
            if "auto" in outs and "ort" in outs:
                row["err_vs_ort"] = rel_err(os.path.join(outs["auto"], "y.npy"), os.path.join(outs["ort"], "y.npy"))
            rows.append(row)
            shutil.rmtree(os.path.join(tmp, m), ignore_errors=True)
    report(rows, args, peers)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "devices": args.devices, "peers": peers, "rows": rows}, f,
                      indent=2)


if __name__ == "__main__":
    main()
