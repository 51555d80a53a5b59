"""loom - run ONNX models on the devices this machine has (OpenCL CPUs and
GPUs, Alveo cards through XRT, loom's own Verilated systolic array) and
check every result against the reference backend; from Python.

    import loom, numpy as np
    model = loom.load("model.onnx")
    session = model.session(device="auto")          # or "opencl:0", "ref", ...
    outputs = session.run({"x": np.zeros((1, 10), np.float32)})

Every loom error is a loom.Error carrying loom's one-line message and its
status (e.g. "E_SHAPE"). Models and sessions hold C resources: close()
them, or use them in a with block; a closed one raises. A model runs with
the GIL released, so other Python threads go on meanwhile (one run at a
time per session).
"""
import threading

import numpy as np

from . import _capi
from ._capi import MAX_RANK, lib

__all__ = ["Error", "Model", "Session", "version", "devices", "load", "partition", "quantize", "validate",
           "boards", "board", "memory_budget"]

# statuses raised from Python's own checks (loom.h's numbers)
_E_INVALID_ARG, _E_SHAPE, _E_DTYPE = 1, 103, 105

# loom dtype numbers (ONNX TensorProto.DataType) <-> numpy
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
           9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
           16: np.uint16}  # bfloat16: numpy has none; its bit patterns come back as uint16
_NUMBERS = {np.dtype(v): k for k, v in _DTYPES.items() if k != 16}


class Error(Exception):
    """A loom failure: .status (the number), .name ("E_SHAPE") and the
    library's message."""

    def __init__(self, status, message):
        self.status = int(status)
        self.name = lib.loom_status_name(self.status).decode()
        super().__init__(message)


def _check(status):
    if status != 0:
        msg = lib.loom_last_error()
        msg = msg.decode(errors="replace") if msg else lib.loom_strerror(status).decode()
        raise Error(status, msg)


def _s(b):
    return b.decode(errors="replace") if b is not None else None


def version():
    """The library's version, "0.1.0"."""
    return lib.loom_version().decode()


def memory_budget():
    """Bytes loading a model or an .npy file may take (LOOM_MAX_MEMORY, or
    half of what this process may have)."""
    return int(lib.loom_memory_budget())


def devices():
    """The devices this machine has, in fallback order: a list of dicts
    (name, backend, kind, model, platform, memory_bytes, compute_units,
    healthy, status)."""
    out = []
    for i in range(lib.loom_device_count()):
        d = _capi.DeviceInfo()
        _check(lib.loom_device_get(i, d))
        out.append({"name": _s(d.name), "backend": _s(d.backend), "kind": _s(d.kind), "model": _s(d.model),
                    "platform": _s(d.platform), "memory_bytes": int(d.memory_bytes),
                    "compute_units": int(d.compute_units), "healthy": bool(d.healthy), "status": _s(d.status)})
    return out


def _read_infos(h, count, get):
    """The ValueInfo structs of a model's or session's inputs or outputs."""
    out = []
    for i in range(count(h)):
        vi = _capi.ValueInfo()
        _check(get(h, i, vi))
        out.append(vi)
    return out


def _value_info(vi):
    dims = [int(vi.dims[k]) if vi.dims[k] >= 0 else (_s(vi.dim_params[k]) or None) for k in range(vi.rank)]
    return {"name": _s(vi.name), "dtype": _s(lib.loom_dtype_name(vi.dtype)), "shape": tuple(dims)}


class _Handle:
    """A C handle that close() (or a with block, or the garbage collector)
    frees once; using it afterwards raises."""
    _kind = "handle"
    _h = None

    def _free(self, h):
        raise NotImplementedError

    def _handle(self):
        if not self._h:
            raise Error(_E_INVALID_ARG, "the %s is closed" % self._kind)
        return self._h

    def close(self):
        with self._lock:
            if self._h:
                self._free(self._h)
                self._h = _capi.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()


class Model(_Handle):
    """An imported ONNX model (loom.load). Immutable; sessions made from it
    keep what they need, so it may be closed while they run."""
    _kind = "model"

    def _free(self, h):
        lib.loom_model_free(h)

    def __init__(self, path, max_memory=None):
        self._lock = threading.Lock()
        self._h = _capi.c_void_p()
        opts = _capi.LoadOptions(max_memory_bytes=int(max_memory) if max_memory else 0)
        self.path = str(path)
        _check(lib.loom_model_load(self.path.encode(), opts, self._h))

    @property
    def inputs(self):
        """The graph inputs: dicts of name, dtype and shape (a symbolic dim
        is its name, or None)."""
        h = self._handle()
        return [_value_info(vi) for vi in _read_infos(h, lib.loom_model_input_count, lib.loom_model_input)]

    @property
    def outputs(self):
        h = self._handle()
        return [_value_info(vi) for vi in _read_infos(h, lib.loom_model_output_count, lib.loom_model_output)]

    def session(self, device="auto", strict=False, shapes=None, profile=False):
        """A session on device ("auto", "ref", "opencl:0", a comma-separated
        list...); shapes: {input name: shape} for symbolic dims (others
        keep their declared shape, symbolic dims 1)."""
        return Session(self, device, strict, shapes, profile)


def load(path, max_memory=None):
    """Import an ONNX model; max_memory: bytes loading may take (default
    loom.memory_budget())."""
    return Model(path, max_memory)


def _as_model(model):
    return (model, False) if isinstance(model, Model) else (Model(model), True)


class Session(_Handle):
    """A model specialised to input shapes and planned onto devices."""
    _kind = "session"

    def _free(self, h):
        lib.loom_session_free(h)

    def __init__(self, model, device="auto", strict=False, shapes=None, profile=False, infer_only=False,
                 keep_values=False):
        self._h = _capi.c_void_p()
        self._lock = threading.Lock()
        shapes = dict(shapes or {})
        arr = (_capi.InputShape * max(1, len(shapes)))()
        keep = []
        for k, (name, shape) in enumerate(shapes.items()):
            shape = tuple(int(d) for d in shape)
            if len(shape) > MAX_RANK:
                raise Error(_E_INVALID_ARG, "input \"%s\": rank %d exceeds %d" % (name, len(shape), MAX_RANK))
            dims = (_capi.c_int64 * max(1, len(shape)))(*shape)
            keep.append(dims)
            arr[k] = _capi.InputShape(str(name).encode(), len(shape), dims)
        opts = _capi.SessionOptions(input_shapes=arr if shapes else None, input_shape_count=len(shapes),
                                    devices=None if device in (None, "auto") else str(device).encode(),
                                    strict=bool(strict), profile=bool(profile), infer_only=bool(infer_only),
                                    keep_values=bool(keep_values))
        _check(lib.loom_session_create(model._handle(), opts, self._h))
        self.inputs = self._infos(lib.loom_session_input_count, lib.loom_session_input)
        self.outputs = self._infos(lib.loom_session_output_count, lib.loom_session_output)

    def _infos(self, count, get):
        return [dict(_value_info(vi), _dtype=vi.dtype) for vi in _read_infos(self._h, count, get)]

    def placement(self):
        """Where each node runs and why: dicts of name, op_type, fused,
        device, reason, subgraph, in execution order."""
        h = self._handle()
        out = []
        for i in range(lib.loom_session_node_count(h)):
            p = _capi.NodePlacement()
            _check(lib.loom_session_placement(h, i, p))
            out.append({"name": _s(p.name), "op_type": _s(p.op_type), "fused": _s(p.fused),
                        "device": _s(p.device), "reason": _s(p.reason), "subgraph": int(p.subgraph)})
        return out

    def run(self, inputs):
        """Run once: inputs {name: array} (every graph input, of the session's
        dtype and shape; C order, converted without a copy when it already
        is); returns {output name: numpy array} (copies, owned by you)."""
        if not isinstance(inputs, dict):
            raise TypeError("inputs must be a dict of input name to array")
        with self._lock:
            h = self._handle()
            names = {i["name"] for i in self.inputs}
            for extra in set(inputs) - names:
                raise Error(_E_INVALID_ARG, "the model has no input called \"%s\"" % extra)
            keep = []
            for k, info in enumerate(self.inputs):
                if info["name"] not in inputs:
                    raise Error(_E_INVALID_ARG, "no value for input \"%s\" (%s%s)" % (info["name"], info["dtype"],
                                                                        list(info["shape"])))
                a = np.asarray(inputs[info["name"]])
                want = np.dtype(_DTYPES[info["_dtype"]])
                if a.dtype != want:
                    raise Error(_E_DTYPE, "input \"%s\": got %s, the session expects %s" % (info["name"], a.dtype,
                                                                                       info["dtype"]))
                if tuple(a.shape) != tuple(info["shape"]):
                    raise Error(_E_SHAPE, "input \"%s\": got shape %s, the session expects %s" % (
                        info["name"], list(a.shape), list(info["shape"])))
                a = np.ascontiguousarray(a)
                keep.append(a)
                _check(lib.loom_session_set_input_data(h, k, a.ctypes.data_as(_capi.c_void_p), a.nbytes))
            _check(lib.loom_session_run(h))  # the GIL is released meanwhile
            out = {}
            for k, info in enumerate(self.outputs):
                t = lib.loom_session_output_tensor(h, k)
                n = lib.loom_tensor_nbytes(t)
                dt = np.dtype(_DTYPES[lib.loom_tensor_dtype(t)])
                rank = lib.loom_tensor_rank(t)
                dims = lib.loom_tensor_dims(t)
                shape = tuple(int(dims[d]) for d in range(rank))
                if n:
                    buf = (_capi.c_char * n).from_address(lib.loom_tensor_cdata(t))
                    out[info["name"]] = np.frombuffer(buf, dtype=dt).reshape(shape).copy()
                else:
                    out[info["name"]] = np.empty(shape, dtype=dt)
            return out


def partition(model, device="auto", strict=False, shapes=None):
    """Where each node of model (a Model or a path) would run, and why."""
    m, own = _as_model(model)
    try:
        s = Session(m, device, strict, shapes, infer_only=True)
        try:
            return s.placement()
        finally:
            s.close()
    finally:
        if own:
            m.close()


class _Tensors:
    """numpy arrays as loom tensors, for the calls that take them."""

    def __init__(self, arrays):
        self.handles = []
        try:
            for a in arrays:
                a = np.ascontiguousarray(a)
                if a.dtype not in _NUMBERS:
                    raise Error(_E_DTYPE, "arrays of dtype %s are not supported (float16, float32, float64, "
                                     "int8 to int64, uint8 to uint64, bool)" % a.dtype)
                h = _capi.c_void_p()
                dims = (_capi.c_int64 * max(1, a.ndim))(*a.shape)
                _check(lib.loom_tensor_create(_NUMBERS[a.dtype], a.ndim, dims, h))
                self.handles.append(h)
                if a.nbytes:
                    _capi.ctypes.memmove(lib.loom_tensor_data(h), a.ctypes.data, a.nbytes)
        except Exception:
            self.free()
            raise
        self.array = (_capi.c_void_p * max(1, len(self.handles)))(*[h.value for h in self.handles])

    def free(self):
        for h in self.handles:
            lib.loom_tensor_free(h)
        self.handles = []


def validate(model, inputs, device):
    """Check device against ref node by node (loom validate): inputs, one
    array per graph input in order (or a dict by name). Returns a dict:
    match, nodes, nodes_on_device, max_abs_error, max_error_ratio,
    output_max_abs_error and, on a mismatch, the first differing node."""
    m, own = _as_model(model)
    try:
        if isinstance(inputs, dict):
            inputs = [inputs[i["name"]] for i in m.inputs]
        t = _Tensors(inputs)
        try:
            r = _capi.ValidateResult()
            _check(lib.loom_validate(m._handle(), t.array, len(t.handles), str(device).encode(), r))
        finally:
            t.free()
        out = {"device": r.device.decode(), "match": bool(r.match), "nodes": int(r.nodes),
               "nodes_on_device": int(r.nodes_on_device), "max_abs_error": r.max_abs_error,
               "max_error_ratio": r.max_error_ratio, "output_max_abs_error": r.output_max_abs_error}
        if not r.match:
            out["first_mismatch"] = {"node": int(r.node), "name": r.node_name.decode(), "op_type": r.op_type.decode(),
                                     "device": r.node_device.decode(), "output": int(r.output),
                                     "element": int(r.element), "value": r.value, "ref_value": r.ref_value,
                                     "allowed": r.allowed, "what": r.what.decode()}
        return out
    finally:
        if own:
            m.close()


_METHODS = {"minmax": 0, "percentile": 1, "entropy": 2}


def quantize(model, calib, out, method="minmax", percentile=None, device=None):
    """int8 post-training quantisation (loom quantize): calib, float32
    batches for the model's input; writes the QDQ model to out. Returns the
    summary: compute_int8, compute_float, bn_folded, tensors, samples."""
    if method not in _METHODS:
        raise Error(_E_INVALID_ARG, "method must be one of %s, not %r" % (", ".join(_METHODS), method))
    m, own = _as_model(model)
    try:
        t = _Tensors(calib)
        try:
            o = _capi.QuantizeOptions(method=_METHODS[method], percentile=float(percentile or 0),
                                      device=str(device).encode() if device else None)
            s = _capi.QuantizeSummary()
            _check(lib.loom_quantize(m._handle(), t.array, len(t.handles), o, str(out).encode(), s))
        finally:
            t.free()
        return {"compute_int8": s.compute_int8, "compute_float": s.compute_float, "bn_folded": s.bn_folded,
                "tensors": s.tensors, "samples": s.samples}
    finally:
        if own:
            m.close()


def boards():
    """The names of the board files: FPGA cards, GPUs, CPUs."""
    names = _capi.POINTER(_capi.c_char_p)()
    n = _capi.c_size_t()
    _check(lib.loom_boards_list(names, n))
    try:
        return [names[i].decode() for i in range(n.value)]
    finally:
        lib.loom_boards_list_free(names, n)


def board(name):
    """One board: name, kind, title and figures {key: {value, unit, source,
    note, estimate, derived}}."""
    h = _capi.c_void_p()
    _check(lib.loom_board_load(str(name).encode(), h))
    try:
        figs = {}
        for i in range(lib.loom_board_figure_count(h)):
            f = lib.loom_board_figure_at(h, i).contents
            figs[_s(f.key)] = {"value": _s(f.text) if f.is_text else f.number, "unit": _s(f.unit),
                               "source": _s(f.source), "note": _s(f.note), "estimate": bool(f.estimate),
                               "derived": bool(f.derived)}
        return {"name": _s(lib.loom_board_name(h)), "kind": _s(lib.loom_board_kind(h)),
                "title": _s(lib.loom_board_title(h)), "figures": figs}
    finally:
        lib.loom_board_free(h)
