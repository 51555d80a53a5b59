"""test_loom.py - the Python package against the library and the CLI:
fixture models on every device against ref, quantize + validate, bad
inputs that must raise (never crash), the C structs mirrored exactly, and
the same bits as `loom run`. Run by CTest (tests/python-package.sh) in a
venv where the package was pip-installed."""
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

import loom

SRC = os.environ.get("LOOM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("LOOM_CLI")
LENET = os.path.join(SRC, "tests", "models", "lenet", "model.onnx")
RESBLOCK = os.path.join(SRC, "tests", "models", "resblock", "model.onnx")
CLASSIFIER = os.path.join(SRC, "examples", "classifier", "classifier.onnx")


def npy(name):
    return np.load(os.path.join(SRC, "tests", "models", name, "x.npy"))


def test_version_devices_and_budget():
    assert loom.version().count(".") == 2
    devs = loom.devices()
    assert devs[-1]["name"] == "ref" and devs[-1]["kind"] == "host"
    assert all(d["healthy"] in (True, False) and d["name"] for d in devs)
    assert loom.memory_budget() > 64 << 20


def test_model_inputs_outputs():
    with loom.load(CLASSIFIER) as m:
        assert m.inputs == [{"name": "features", "dtype": "float32", "shape": ("batch", 10)}]
        assert [o["name"] for o in m.outputs] == ["probability"]


@pytest.mark.parametrize("name", ["lenet", "resblock"])
def test_fixture_models_on_every_device_match_ref(name):
    path = os.path.join(SRC, "tests", "models", name, "model.onnx")
    x = npy(name)
    m = loom.load(path)
    with m.session(device="ref") as s:
        want = s.run({"x": x})
    for d in loom.devices():
        if not d["healthy"] or d["name"] == "ref" or d["backend"] in ("vsim", "xrt"):
            continue  # vsim and xrt take only int8 nodes
        with m.session(device=d["name"]) as s:
            got = s.run({"x": x})
        for k in want:
            assert got[k].shape == want[k].shape and got[k].dtype == want[k].dtype
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg="%s on %s" % (k, d["name"]))
    m.close()


def test_symbolic_dims_and_placement():
    m = loom.load(CLASSIFIER)
    s = m.session(device="ref", shapes={"features": (4, 10)})
    assert s.inputs[0]["shape"] == (4, 10)
    out = s.run({"features": np.ones((4, 10), np.float32)})
    assert out["probability"].shape == (4, 1)
    assert all(p["device"] == "ref" for p in s.placement())
    assert [p["op_type"] for p in loom.partition(m, device="ref")] == [p["op_type"] for p in s.placement()]
    s.close()
    m.close()


def test_same_bits_as_the_cli(tmp_path):
    if not CLI:
        pytest.skip("LOOM_CLI is not set: the CLI comparison runs under CTest")
    x = npy("lenet")
    xp = tmp_path / "x.npy"
    np.save(xp, x)
    subprocess.run([CLI, "run", LENET, "--input", "x=%s" % xp, "--device", "ref", "--out", str(tmp_path / "out")],
                   check=True, capture_output=True)
    cli = np.load(tmp_path / "out" / "y.npy")
    with loom.load(LENET) as m, m.session(device="ref") as s:
        py = s.run({"x": x})["y"]
    assert py.tobytes() == cli.tobytes()


def test_quantize_and_validate(tmp_path):
    calib = np.load(os.path.join(SRC, "examples", "classifier", "calib_x.npy"))
    out = tmp_path / "q.onnx"
    summary = loom.quantize(CLASSIFIER, [calib], out)
    assert summary["compute_int8"] == 2 and summary["compute_float"] == 0 and summary["samples"] == len(calib)
    q = loom.load(out)
    x = calib[:2].copy()
    for d in ["ref"] + [d["name"] for d in loom.devices() if d["backend"] == "opencl" and d["healthy"]]:
        r = loom.validate(q, {"features": x}, d)
        assert r["match"], r
        assert r["nodes"] >= 2
    with q.session(device="ref", shapes={"features": (2, 10)}) as s:
        p = s.run({"features": x})["probability"]
    assert p.shape == (2, 1) and np.all((p >= 0) & (p <= 1))
    q.close()


def test_boards():
    names = loom.boards()
    assert "u250" in names and "h200" in names
    b = loom.board("u250")
    assert b["kind"] == "fpga" and b["figures"]["power_limit_w"]["value"] == 225
    with pytest.raises(loom.Error) as e:
        loom.board("u9000")
    assert e.value.name == "E_NOT_FOUND"


# ---- bad inputs raise, never crash ----

def test_errors_carry_status_and_message(tmp_path):
    with pytest.raises(loom.Error) as e:
        loom.load(tmp_path / "missing.onnx")
    assert e.value.name == "E_NOT_FOUND" and "missing.onnx" in str(e.value)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(loom.Error) as e:
        loom.load(bad)
    assert e.value.name == "E_MODEL_INVALID"
    with pytest.raises(loom.Error) as e:
        loom.load(LENET, max_memory=1000)
    assert e.value.name == "E_LIMIT" and "over the budget" in str(e.value)


def test_wrong_inputs_raise():
    m = loom.load(LENET)
    s = m.session(device="ref")
    x = npy("lenet")
    with pytest.raises(loom.Error) as e:
        s.run({"x": x.astype(np.float64)})
    assert e.value.name == "E_DTYPE"
    with pytest.raises(loom.Error) as e:
        s.run({"x": x[:1]})
    assert e.value.name == "E_SHAPE"
    with pytest.raises(loom.Error):
        s.run({})
    with pytest.raises(loom.Error):
        s.run({"x": x, "nosuch": x})
    with pytest.raises(TypeError):
        s.run([x])
    # a view that is not C-contiguous is converted, not refused
    xt = np.asfortranarray(x)
    np.testing.assert_array_equal(s.run({"x": xt})["y"], s.run({"x": x})["y"])
    with pytest.raises(loom.Error) as e:
        m.session(device="nosuch-device", strict=True)
    assert e.value.name.startswith("E_")
    s.close()
    m.close()


def test_closed_session_and_freed_model_raise():
    m = loom.load(LENET)
    s = m.session(device="ref")
    m.close()
    out = s.run({"x": npy("lenet")})  # the session keeps what it needs
    assert out["y"].shape == (2, 10)
    with pytest.raises(loom.Error) as e:
        m.session()
    assert "closed" in str(e.value)
    with pytest.raises(loom.Error):
        m.inputs
    s.close()
    s.close()  # twice is fine
    with pytest.raises(loom.Error) as e:
        s.run({"x": npy("lenet")})
    assert "closed" in str(e.value)
    with pytest.raises(loom.Error):
        s.placement()


def test_runs_release_the_gil():
    """A Python thread keeps running while one long run (the classifier on
    a batch of two million rows, a fraction of a second on ref) is inside
    the library: with the GIL held it could not count at all. Two
    sessions in two threads give ref's answer."""
    m = loom.load(CLASSIFIER)
    rows = 2000000
    x = np.random.default_rng(1).standard_normal((rows, 10), dtype=np.float32)
    s = m.session(device="ref", shapes={"features": (rows, 10)})
    ticks, stop = [0], threading.Event()

    def tick():
        while not stop.is_set():
            ticks[0] += 1

    t = threading.Thread(target=tick)
    t.start()
    # the ticker's rate alone, then what it counts during one run: with
    # the GIL held through the run it manages only the few switches
    # before and after (here about 3% of its rate times the run's time)
    time.sleep(0.02)
    t0, c0 = time.perf_counter(), ticks[0]
    time.sleep(0.1)
    rate = (ticks[0] - c0) / (time.perf_counter() - t0)
    t0, c0 = time.perf_counter(), ticks[0]
    s.run({"features": x})
    during, took = ticks[0] - c0, time.perf_counter() - t0
    stop.set()
    t.join()
    assert took > 0.05, "the run took %.3f s: too short to tell" % took
    assert during > 0.3 * rate * took, "the ticker counted %d during a %.3f s run (rate %.0f/s)" % (during, took, rate)
    s.close()

    small = x[:64].copy()
    sessions = [m.session(device="ref", shapes={"features": (64, 10)}) for _ in range(2)]
    want = sessions[0].run({"features": small})["probability"]
    results = [None, None]

    def work(i):
        for _ in range(50):
            results[i] = sessions[i].run({"features": small})["probability"]

    runners = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for r in runners:
        r.start()
    for r in runners:
        r.join()
    for r in results:
        np.testing.assert_array_equal(r, want)
    for s in sessions:
        s.close()
    m.close()


def test_structs_match_loom_h(tmp_path):
    """The ctypes structs against the C compiler's sizeof/offsetof."""
    from loom import _capi
    structs = {"DeviceInfo": "loom_device_info", "LoadOptions": "loom_load_options",
               "ValueInfo": "loom_value_info", "InputShape": "loom_input_shape",
               "SessionOptions": "loom_session_options", "NodePlacement": "loom_node_placement",
               "ValidateResult": "loom_validate_result", "QuantizeOptions": "loom_quantize_options",
               "QuantizeSummary": "loom_quantize_summary", "BoardFigure": "loom_board_figure"}
    inc = os.environ.get("LOOM_INCLUDE_DIRS", "").split(os.pathsep)
    inc = [i for i in inc if i] or [os.path.join(SRC, "host", "include")]
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include \"loom/loom.h\"", "int main(void) {"]
    for py, c in structs.items():
        lines.append('printf("%s %%zu\\n", sizeof(%s));' % (py, c))
        for f in getattr(_capi, py)._fields_:
            lines.append('printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (py, f[0], c, f[0]))
    lines.append("return 0; }")
    src = tmp_path / "abi.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "abi"
    cc = subprocess.run(["cc", "-o", str(exe), str(src)] + ["-I" + i for i in inc], capture_output=True, text=True)
    if cc.returncode != 0:
        pytest.fail("cannot compile the layout check: " + cc.stderr)
    seen = dict(l.split() for l in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines())
    for py in structs:
        cls = getattr(_capi, py)
        assert int(seen[py]) == _capi.ctypes.sizeof(cls), py
        for f in cls._fields_:
            assert int(seen["%s.%s" % (py, f[0])]) == getattr(cls, f[0]).offset, "%s.%s" % (py, f[0])
