"""onnx_conformance.py - ONNX's own node conformance cases through `loom run`.

Run by tests/onnx-conformance.sh inside a venv that has the `onnx` package
(with numpy); never imported by loom itself. For every case of
onnx.backend.test.case.node (and the "light" model-zoo networks shipped in
the same package) it writes the model and its inputs (.npy) into WORK, runs
`loom run` in a process of its own, and compares every output as ONNX's
backend runner does: same shape, same dtype, allclose with the case's rtol
and atol (1e-3 and 1e-7 unless the case says otherwise), NaNs equal.

Each case ends in one class:
  pass     every output matches
  refused  loom said it cannot run the model (exit 65, a clear message),
           or the case needs what no .npy file can carry (a sequence, a
           map, an optional); the reason is put in a class of its own
  wrong    loom ran and an output differs (value, shape, dtype, or missing)
  crash    a signal, a timeout, or an internal error (exit 70)

With --fixtures, loom's own PyTorch exports (tests/models) run too, raised
to opsets 18 and 25 by ONNX's version converter and converted to float16,
against PyTorch's outputs.

Prints the counts, the largest refusal classes and every wrong or crashed
case, writes WORK/conformance.json, and exits 1 when anything is wrong or
crashed, when a light or exported model is refused, or when fewer node
cases pass than --floor.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

EXIT_DATAERR = 65
EXIT_SOFTWARE = 70


def reason_class(msg):
    """A short class for a refusal message, so that counts group."""
    m = re.search(r"opset (\d+) is outside", msg)
    if m:
        return "opset %s" % m.group(1)
    m = re.search(r"operator (\S+) is not supported", msg)
    if m:
        return "operator %s" % m.group(1)
    m = re.search(r"has dtype (\w+)", msg) or re.search(r"dtype (\w+) is not supported", msg)
    if m:
        return "dtype %s" % m.group(1)
    if "computed at run time" in msg or "must be a constant" in msg:
        return "run-time argument"
    m = re.search(r'attribute "([^"]+)"', msg)
    if m:
        return "attribute %s" % m.group(1)
    m = re.search(r"\(([A-Za-z]+)\): ", msg)
    if m:
        return "other (%s)" % m.group(1)
    return "other"


def npy_ok(arr):
    return isinstance(arr, np.ndarray) and arr.dtype != object


def to_array(x):
    if isinstance(x, onnx.TensorProto):
        return numpy_helper.to_array(x)
    if isinstance(x, np.generic):  # a numpy scalar: a 0-d tensor
        return np.asarray(x)
    return x


def write_case(name, model, inputs, work):
    """Write model.onnx and input_K.npy; returns (dir, [(name, path)]) or a refusal."""
    d = os.path.join(work, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    feeds = []
    graph_inputs = [vi for vi in model.graph.input
                    if vi.name not in {t.name for t in model.graph.initializer}]
    for k, (vi, x) in enumerate(zip(graph_inputs, inputs)):
        if not vi.type.HasField("tensor_type"):
            return d, None, "input type %s" % vi.type.WhichOneof("value")
        x = to_array(x)
        if not npy_ok(x):
            return d, None, "input type %s" % type(x).__name__
        # numpy has no bfloat16: such inputs go as ONNX TensorProto files
        bf16 = str(x.dtype) == "bfloat16"
        p = os.path.join(d, "input_%d.%s" % (k, "pb" if bf16 else "npy"))
        try:
            if bf16:
                with open(p, "wb") as f:
                    f.write(numpy_helper.from_array(x, vi.name).SerializeToString())
            else:
                np.save(p, x)
        except Exception as e:  # noqa: BLE001 - an exotic dtype numpy cannot save
            return d, None, "input dtype %s (%s)" % (x.dtype, e)
        feeds.append((vi.name, p))
    return d, feeds, None


HALF_MANTISSA = {"float16": 10, "bfloat16": 7}


def compare(expected, got_json, rtol, atol, lenient):
    """None when every output matches, else what differs; lenient gets
    the outputs that matched only within two ulps of a 16-bit float."""
    outs = got_json.get("outputs", [])
    if len(outs) != len(expected):
        return "%d outputs, expected %d" % (len(outs), len(expected))
    for k, (exp, o) in enumerate(zip(expected, outs)):
        exp = to_array(exp)
        if not npy_ok(exp):
            return "output %d: expected value of type %s" % (k, type(exp).__name__)
        try:
            if o["file"].endswith(".pb"):
                t = onnx.TensorProto()
                with open(o["file"], "rb") as f:
                    t.ParseFromString(f.read())
                got = numpy_helper.to_array(t)
            else:
                got = np.load(o["file"])
        except Exception as e:  # noqa: BLE001
            return "output %d: cannot read %s: %s" % (k, o.get("file"), e)
        if tuple(got.shape) != tuple(exp.shape):
            return "output %d: shape %s, expected %s" % (k, got.shape, exp.shape)
        if got.dtype != exp.dtype:
            return "output %d: dtype %s, expected %s" % (k, got.dtype, exp.dtype)
        if exp.dtype.kind in "biu":
            if not np.array_equal(got, exp):
                bad = np.flatnonzero(got.reshape(-1) != exp.reshape(-1))
                i = int(bad[0])
                return "output %d: %d values differ, first at %d: %s, expected %s" % (
                    k, bad.size, i, got.reshape(-1)[i], exp.reshape(-1)[i])
            continue
        g = got.astype(np.float64)
        e = exp.astype(np.float64)
        ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
        bits = HALF_MANTISSA.get(str(exp.dtype))
        if not ok.all() and bits:
            # loom computes float16/bfloat16 ops in float32 and rounds once;
            # the expected values were rounded at every step: allow two
            # units in the last place of the output type too (counted)
            ulp = np.exp2(np.floor(np.log2(np.maximum(np.abs(e), 2.0 ** -14))) - bits)
            ok2 = ok | (np.abs(g - e) <= 2 * ulp)
            if ok2.all():
                lenient.append(k)
                ok = ok2
        if not ok.all():
            bad = np.flatnonzero(~ok.reshape(-1))
            i = int(bad[0])
            return "output %d: %d values differ, first at %d: %.9g, expected %.9g" % (
                k, bad.size, i, g.reshape(-1)[i], e.reshape(-1)[i])
    return None


def run_case(loom, device, name, model, data_sets, rtol, atol, work, timeout):
    """One case: returns a dict with class, reason and seconds."""
    t0 = time.monotonic()
    res = {"name": name}
    for ds, (inputs, expected) in enumerate(data_sets):
        d, feeds, why = write_case(name, model, inputs, work)
        if feeds is None:
            res.update(cls="refused", reason=why, why=why)
            break
        out = os.path.join(d, "out")
        cmd = [loom, "run", os.path.join(d, "model.onnx"), "--device", device, "--out", out,
               "--json"]
        for n, p in feeds:
            cmd += ["--input", "%s=%s" % (n, p)]
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                errors="replace")
        except subprocess.TimeoutExpired:
            res.update(cls="crash", reason="timeout", why="no answer in %d s" % timeout)
            break
        err = cp.stderr.strip().splitlines()
        last = err[-1] if err else ""
        if cp.returncode < 0 or cp.returncode >= 128:
            res.update(cls="crash", reason="signal", why="exit %d: %s" % (cp.returncode, last))
            break
        if cp.returncode == EXIT_SOFTWARE:
            res.update(cls="crash", reason="internal error", why=last)
            break
        if cp.returncode != 0:
            msg = last.replace("loom: error: ", "")
            res.update(cls="refused" if cp.returncode == EXIT_DATAERR else "crash",
                       reason=reason_class(msg), why="exit %d: %s" % (cp.returncode, msg))
            break
        try:
            j = json.loads(cp.stdout)
        except ValueError:
            res.update(cls="wrong", reason="json", why="stdout is not JSON")
            break
        lenient = []
        diff = compare(expected, j, rtol, atol, lenient)
        if lenient:
            res["within_2_ulps"] = True
        if diff:
            res.update(cls="wrong", reason="value", why="data set %d: %s" % (ds, diff))
            break
    else:
        res.update(cls="pass", reason="", why="")
    shutil.rmtree(os.path.join(work, name), ignore_errors=True)
    res["seconds"] = round(time.monotonic() - t0, 3)
    return res


def node_cases():
    import onnx.backend.test.case.node as node
    for c in node.collect_testcases(None):
        yield c.name, c.model, c.data_sets, c.rtol, c.atol


def light_cases():
    """The model-zoo networks in onnx/backend/test/data/light: inputs as
    ONNX's runner makes them (arange / n), the expected outputs shipped."""
    import onnx.backend.test.case.model as models
    from onnx.backend.test.runner import Runner
    top = os.path.dirname(os.path.dirname(os.path.abspath(onnx.__file__)))
    for c in models.collect_testcases():
        if c.kind != "real" or not c.url or "/light/" not in c.url:
            continue
        path = os.path.join(top, c.url)
        m = onnx.load(path)
        inits = {t.name for t in m.graph.initializer}
        inputs = [Runner.generate_dummy_data(vi, seed=0, name=c.model_name, random=False)
                  for vi in m.graph.input if vi.name not in inits]
        prefix = os.path.splitext(path)[0]
        outs = []
        for k in range(len(m.graph.output)):
            t = onnx.TensorProto()
            with open("%s_output_%d.pb" % (prefix, k), "rb") as f:
                t.ParseFromString(f.read())
            outs.append(numpy_helper.to_array(t))
        yield c.name, m, [(inputs, outs)], c.rtol, c.atol


FIXTURES = ("lenet", "resblock", "transformer14", "transformer17")


def to_float16(model):
    """The model with every float32 tensor float16 (what conversion tools
    for hub models do): initializers, Constant values, graph inputs,
    outputs and value infos, and Casts to float."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    f32, f16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16

    def tensor16(t):
        if t.data_type == f32:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))

    g = m.graph
    for t in g.initializer:
        tensor16(t)
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == f32:
            vi.type.tensor_type.elem_type = f16
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                tensor16(a.t)
            if node.op_type == "Cast" and a.name == "to" and a.i == f32:
                a.i = f16
    onnx.checker.check_model(m)
    return m


def exported_cases(fixtures):
    """PyTorch exports (tests/models, opsets 13-17) as current exporters
    and hub conversions write them: raised to opsets 18 and 25 by ONNX's
    version converter, and the opset 18 one converted to float16; the
    expected outputs are PyTorch's (float32)."""
    import onnx.version_converter as vc
    for name in FIXTURES:
        d = os.path.join(fixtures, name)
        base = onnx.load(os.path.join(d, "model.onnx"))
        x = np.load(os.path.join(d, "x.npy"))
        y = np.load(os.path.join(d, "y.npy"))
        for opset in (18, 25):
            m = vc.convert_version(base, opset)
            yield "%s_opset%d" % (name, opset), m, [([x], [y])], 1e-4, 1e-5
        m16 = to_float16(vc.convert_version(base, 18))
        tol = 1e-2 * max(1.0, float(np.abs(y).max()))
        yield "%s_opset18_float16" % name, m16, [([x.astype(np.float16)], [y.astype(np.float16)])], 1e-2, tol


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loom", required=True, help="the loom executable")
    ap.add_argument("--work", required=True, help="scratch folder (made, reused)")
    ap.add_argument("--device", default="ref")
    ap.add_argument("--floor", type=int, default=0,
                    help="fail when fewer node cases than this pass")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per case")
    ap.add_argument("--only", default="", help="regular expression on case names")
    ap.add_argument("--no-light", action="store_true", help="node cases only")
    ap.add_argument("--fixtures", default="",
                    help="tests/models: also run its PyTorch exports raised to opsets 18 and 25, and as float16")
    ap.add_argument("--verbose", action="store_true", help="print every refusal too")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    t0 = time.monotonic()
    only = re.compile(a.only) if a.only else None

    suites = [("node", node_cases())]
    if not a.no_light:
        suites.append(("light", light_cases()))
    if a.fixtures:
        suites.append(("exported", exported_cases(a.fixtures)))
    report = {"onnx": onnx.__version__, "device": a.device, "suites": {}}
    failed = False
    for suite, cases in suites:
        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = [ex.submit(run_case, a.loom, a.device, name, model, ds, rtol, atol,
                              a.work, a.timeout)
                    for name, model, ds, rtol, atol in cases
                    if only is None or only.search(name)]
            for f in futs:
                results.append(f.result())
        counts = collections.Counter(r["cls"] for r in results)
        reasons = collections.Counter(r["reason"] for r in results if r["cls"] == "refused")
        ulps = [r["name"] for r in results if r.get("within_2_ulps") and r["cls"] == "pass"]
        print("%s cases: %d  pass %d  refused %d  wrong %d  crash %d" % (
            suite, len(results), counts["pass"], counts["refused"], counts["wrong"],
            counts["crash"]))
        if ulps:
            print("  %d of the passes match only within 2 ulps of float16/bfloat16: %s" % (
                len(ulps), ", ".join(ulps)))
        print("  largest refusal classes:")
        for why, k in reasons.most_common(25):
            print("    %5d  %s" % (k, why))
        for r in results:
            if r["cls"] in ("wrong", "crash") or (a.verbose and r["cls"] == "refused"):
                print("  %-7s %s: %s" % (r["cls"], r["name"], r["why"]))
        if suite != "node":
            for r in results:
                print("  %-7s %s %s" % (r["cls"], r["name"], r["why"]))
        report["suites"][suite] = {"counts": dict(counts), "refusals": dict(reasons),
                                   "cases": results}
        if counts["wrong"] or counts["crash"]:
            failed = True
        if suite != "node" and counts["refused"]:
            print("FAIL: every %s model must run" % suite)
            failed = True
        if suite == "node" and counts["pass"] < a.floor:
            print("FAIL: %d node cases pass, below the floor of %d" % (counts["pass"], a.floor))
            failed = True
    report["seconds"] = round(time.monotonic() - t0, 1)
    with open(os.path.join(a.work, "conformance.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("%.1f s; report in %s" % (report["seconds"], os.path.join(a.work, "conformance.json")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
