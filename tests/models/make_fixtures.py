#!/usr/bin/python3
"""Generate the ONNX test fixtures for loom, with golden outputs.

For every fixture NAME this writes tests/models/NAME/:
  model.onnx   the exported model (graph input "x", graph output "y")
  x.npy        the seeded random float32 input
  y.npy        PyTorch's float32 output for x, model in eval mode

Run with Debian's python (torch 1.13, onnx 1.12, numpy):
  /usr/bin/python3 tests/models/make_fixtures.py
Everything is seeded and single-threaded, so re-running rewrites
byte-identical files.

After export each model is checked with onnx.checker, and the ONNX graph
is additionally evaluated by the small numpy interpreter at the bottom of
this file (written only for this check; onnxruntime is not available) and
compared with the PyTorch golden output, so the fixtures are known to be
self-consistent.
"""
import os
import sys
import warnings
from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------

class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
            nn.Softmax(dim=1),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class ResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, stride=2, padding=1, dilation=1,
                                   groups=8)
        self.dilated = nn.Conv2d(8, 4, 3, padding=2, dilation=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        h = F.relu(h + x)
        h = self.depthwise(h)
        h = self.dilated(h)
        return self.fc(self.flatten(self.pool(h)))


class Misc(nn.Module):
    """A grab bag of ops not covered by the other fixtures."""

    def __init__(self):
        super().__init__()
        self.maxpool = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.avgpool = nn.AvgPool2d(3, stride=2, padding=1,
                                    count_include_pad=False)

    def forward(self, x):                                  # (2,3,9,9)
        a = F.pad(x, (1, 2, 0, 1), mode="constant", value=0.5)  # (2,3,10,12)
        b = a[:, :, ::2, 1::3]                             # (2,3,5,4)
        c = x[:, [2, 0]]                                   # (2,2,9,9)
        c = torch.clamp(c, -0.5, 0.8)
        d = torch.cat([torch.tanh(c), torch.sigmoid(c), x[:, 1:2]], dim=1)
        p = self.maxpool(d)                                # (2,5,5,5)
        q = self.avgpool(d)                                # (2,5,5,5)
        e = torch.sqrt(torch.abs(p - q)) / (torch.pow(q, 2) + 1.0)
        e = e.permute(0, 2, 3, 1)                          # (2,5,5,5)
        m = e.mean(dim=3, keepdim=True)                    # (2,5,5,1)
        m = m.squeeze(3).unsqueeze(1)                      # (2,1,5,5)
        f = m[:, :, :, 1:] - b.mean(dim=1, keepdim=True)   # (2,1,5,4)
        return f.reshape(x.shape[0], -1)                   # (2,20)


class TinyOpset7(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        return torch.softmax(torch.relu(self.fc(x)), dim=1)


def he_init(model, gen):
    """He-normal weights, so activations keep their scale through the net
    (torch's default init makes the LeNet softmax nearly uniform)."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen)
                                 * (2.0 / fan_in) ** 0.5)
    return model


def randomise_batchnorm(bn, gen):
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
        bn.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
        bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(c, generator=gen) * 0.3)


# --------------------------------------------------------------------------
# export helpers
# --------------------------------------------------------------------------

def encoder_layer(d_model, nhead, ff, seed=3):
    """nn.TransformerEncoderLayer (GELU, no dropout, batch first) in eval
    mode, seeded. Default init leaves every bias at 0 and LayerNorm weights
    at 1; they are randomised so that golden outputs test them."""
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(
        d_model=d_model, nhead=nhead, dim_feedforward=ff, dropout=0.0,
        activation="gelu", batch_first=True)
    gen = torch.Generator().manual_seed(33)
    with torch.no_grad():
        for pname, p in layer.named_parameters():
            if p.dim() == 1:
                base = 1.0 if pname.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
    return layer.eval()


def seeded_input(seed, shape):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32)


def export(name, model, x, opset, golden_fn=None, **kwargs):
    """Export model at opset, write model.onnx, x.npy and y.npy."""
    out_dir = os.path.join(HERE, name)
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    xt = torch.from_numpy(x)
    if golden_fn is None:
        with torch.no_grad():
            y = model(xt)
    else:
        y = golden_fn(model, xt)
    y = np.ascontiguousarray(y.detach().numpy().astype(np.float32))

    path = os.path.join(out_dir, "model.onnx")
    kwargs.setdefault("do_constant_folding", True)
    torch.onnx.export(model, xt, path, opset_version=opset,
                      input_names=["x"], output_names=["y"], **kwargs)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    np.save(os.path.join(out_dir, "x.npy"), np.ascontiguousarray(x))
    np.save(os.path.join(out_dir, "y.npy"), y)

    # independent check of the exported graph against the golden output
    ref = run_graph(m, {"x": x})["y"]
    err = float(np.max(np.abs(ref - y)))
    ok = ref.shape == y.shape and np.allclose(ref, y, rtol=1e-4, atol=1e-5)
    ops = Counter(n.op_type for n in m.graph.node)
    print(f"{name}: opset {m.opset_import[0].version}, x{list(x.shape)} -> "
          f"y{list(y.shape)}, numpy-ref max|diff| {err:.2e}")
    print("   ops:", ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())))
    if not ok:
        raise SystemExit(f"{name}: exported graph does not match PyTorch")
    return m


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    # lenet ---------------------------------------------------------------
    torch.manual_seed(1)
    lenet = he_init(LeNet(), torch.Generator().manual_seed(11))
    export("lenet", lenet, seeded_input(101, (2, 1, 28, 28)), 13)

    # resblock --------------------------------------------------------------
    # In EVAL mode the exporter folds BatchNormalization into the preceding
    # Conv (_jit_pass_onnx_eval_peephole).  TrainingMode.PRESERVE skips that
    # pass; the module itself is in eval mode, so BatchNormalization is
    # exported as inference-mode BN using the running statistics.
    torch.manual_seed(2)
    rb = ResBlock()
    gen = torch.Generator().manual_seed(22)
    randomise_batchnorm(rb.bn1, gen)
    randomise_batchnorm(rb.bn2, gen)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="It is recommended that "
                                "constant folding be turned off")
        m = export("resblock", rb, seeded_input(102, (2, 8, 12, 12)), 13,
                   training=torch.onnx.TrainingMode.PRESERVE)
    assert sum(n.op_type == "BatchNormalization" for n in m.graph.node) == 2

    # transformer -------------------------------------------------------------
    # nn.TransformerEncoderLayer in eval mode takes a fused "fast path"
    # (torch._transformer_encoder_layer_fwd) that has no ONNX symbolic.  By
    # its documented conditions the fast path is skipped when autograd is
    # enabled and a parameter requires grad, so the golden output and the
    # export both run with grad enabled (parameters keep requires_grad=True),
    # which selects the plain decomposed math.
    def slow_path(model, xt):
        with torch.enable_grad():
            return model(xt)

    for opset in (14, 17):
        layer = encoder_layer(32, 4, 64)
        x = seeded_input(103, (2, 8, 32))
        with torch.enable_grad():
            m = export(f"transformer{opset}", layer, x, opset,
                       golden_fn=slow_path)
        with torch.no_grad():   # fast path, for information only
            fast = layer(torch.from_numpy(x)).numpy()
        slow = np.load(os.path.join(HERE, f"transformer{opset}", "y.npy"))
        print(f"   fast-path vs exported-path max|diff| "
              f"{float(np.max(np.abs(fast - slow))):.2e}")
        has_ln = any(n.op_type == "LayerNormalization" for n in m.graph.node)
        assert has_ln == (opset >= 17)

    # misc --------------------------------------------------------------------
    # (the exporter warns that it cannot constant-fold the step -1 Slice in
    # its own pads computation for F.pad; harmless, silenced here)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Constant folding - Only "
                                "steps=1 can be constant folded")
        export("misc", Misc(), seeded_input(104, (2, 3, 9, 9)), 13)

    # opset7 ------------------------------------------------------------------
    torch.manual_seed(5)
    export("opset7", TinyOpset7(), seeded_input(105, (3, 5)), 7)


# --------------------------------------------------------------------------
# minimal numpy ONNX interpreter, only for the ops these fixtures contain
# --------------------------------------------------------------------------

def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads_2d(pads, nd):
    return list(pads) if pads else [0] * (2 * nd)


def _conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    group = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = _pads_2d(a.get("pads"), 2)
    assert a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, m, oh, ow), dtype=np.float64)
    mg = m // group
    for g in range(group):
        xs = xp[:, g * cg:(g + 1) * cg].astype(np.float64)
        ws = w[g * mg:(g + 1) * mg].astype(np.float64)
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
                y[:, g * mg:(g + 1) * mg] += np.einsum(
                    "nchw,mc->nmhw", patch, ws[:, :, i, j])
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y.astype(np.float32)


def _pool(x, a, kind):
    n, c, h, w = x.shape
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = _pads_2d(a.get("pads"), 2)
    ceil = a.get("ceil_mode", 0)
    count_pad = a.get("count_include_pad", 0)
    assert a.get("dilations", [1, 1]) == [1, 1]

    def out_len(L, k, s, p0, p1):
        num = L + p0 + p1 - k
        o = (-(-num // s) if ceil else num // s) + 1
        if ceil and (o - 1) * s >= L + p0:   # last window must start inside
            o -= 1
        return o

    oh, ow = out_len(h, kh, sh, pt, pb), out_len(w, kw, sw, pl, pr)
    y = np.zeros((n, c, oh, ow), dtype=np.float32)
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * sh - pt, j * sw - pl
            h1, w1 = h0 + kh, w0 + kw
            hs, ws_ = max(h0, 0), max(w0, 0)
            he, we = min(h1, h), min(w1, w)
            win = x[:, :, hs:he, ws_:we]
            if kind == "max":
                y[:, :, i, j] = win.max(axis=(2, 3))
            else:
                if count_pad:
                    # padded region only (not the ceil overhang) counts
                    cnt = ((min(h1, h + pb) - h0) * (min(w1, w + pr) - w0))
                else:
                    cnt = (he - hs) * (we - ws_)
                y[:, :, i, j] = win.sum(axis=(2, 3)) / cnt
    return y


def _slice(x, starts, ends, axes, steps):
    if axes is None:
        axes = range(len(starts))
    if steps is None:
        steps = [1] * len(starts)
    sl = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        dim = x.shape[ax]
        s, e = int(s), int(e)
        s = s + dim if s < 0 else s
        e = e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
        else:
            s, e = min(max(s, 0), dim - 1), min(max(e, -1), dim - 1)
            e = None if e == -1 else e
        sl[ax] = slice(s, e, int(st))
    return x[tuple(sl)]


def _softmax(x, axis, opset):
    if opset < 13:           # coerce to 2D at axis
        shp = x.shape
        x2 = x.reshape(int(np.prod(shp[:axis])), -1)
        e = np.exp(x2 - x2.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(shp)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _erf(x):
    import math
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)


def run_graph(model, feeds):
    opset = model.opset_import[0].version
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        x = ins[0] if ins else None
        if op == "Constant":
            out = numpy_helper.to_array(a["value"])
        elif op == "ConstantOfShape":
            val = numpy_helper.to_array(a["value"]) if "value" in a \
                else np.zeros(1, np.float32)
            out = np.full([int(v) for v in x], val.reshape(-1)[0],
                          dtype=val.dtype)
        elif op == "Identity":
            out = x
        elif op in ("Add", "Sub", "Mul", "Div", "Pow"):
            fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                  "Div": np.divide, "Pow": np.power}[op]
            out = fn(x, ins[1]).astype(x.dtype)
        elif op == "Relu":
            out = np.maximum(x, 0).astype(x.dtype)
        elif op == "Sigmoid":
            out = (1.0 / (1.0 + np.exp(-x))).astype(x.dtype)
        elif op == "Tanh":
            out = np.tanh(x)
        elif op == "Sqrt":
            out = np.sqrt(x)
        elif op == "Abs":
            out = np.abs(x)
        elif op == "Erf":
            out = _erf(x)
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min")
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max")
            out = np.clip(x, -np.inf if lo is None else lo,
                          np.inf if hi is None else hi).astype(x.dtype)
        elif op == "Softmax":
            out = _softmax(x, a.get("axis", -1 if opset >= 13 else 1), opset)
        elif op == "Gemm":
            A = x.T if a.get("transA", 0) else x
            B = ins[1].T if a.get("transB", 0) else ins[1]
            out = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                out = out + a.get("beta", 1.0) * ins[2]
            out = out.astype(np.float32)
        elif op == "MatMul":
            out = np.matmul(x, ins[1])
        elif op == "Conv":
            out = _conv(x, ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "MaxPool":
            out = _pool(x, a, "max")
        elif op == "AveragePool":
            out = _pool(x, a, "avg")
        elif op == "GlobalAveragePool":
            out = x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)
        elif op == "BatchNormalization":
            sc, bi, mean, var = ins[1:5]
            shp = (1, -1) + (1,) * (x.ndim - 2)
            out = ((x - mean.reshape(shp)) / np.sqrt(var.reshape(shp)
                   + a.get("epsilon", 1e-5)) * sc.reshape(shp)
                   + bi.reshape(shp)).astype(np.float32)
        elif op == "LayerNormalization":
            axis = a.get("axis", -1)
            axis = axis + x.ndim if axis < 0 else axis
            red = tuple(range(axis, x.ndim))
            mu = x.mean(axis=red, keepdims=True)
            var = ((x - mu) ** 2).mean(axis=red, keepdims=True)
            out = (x - mu) / np.sqrt(var + a.get("epsilon", 1e-5)) * ins[1]
            if len(ins) > 2 and ins[2] is not None:
                out = out + ins[2]
            out = out.astype(np.float32)
        elif op == "ReduceMean":
            axes = a.get("axes")
            if axes is None and len(ins) > 1 and ins[1] is not None:
                axes = ins[1]
            axes = tuple(int(v) for v in axes) if axes is not None else None
            out = x.mean(axis=axes, keepdims=bool(a.get("keepdims", 1)))
            out = out.astype(x.dtype)
        elif op == "Pad":
            mode = a.get("mode", b"constant")
            assert mode in (b"constant", "constant")
            pads = ins[1] if len(ins) > 1 else a["pads"]
            val = ins[2] if len(ins) > 2 and ins[2] is not None \
                else a.get("value", 0.0)
            nd = x.ndim
            pw = [(int(pads[i]), int(pads[i + nd])) for i in range(nd)]
            assert all(p >= 0 for pr in pw for p in pr)
            out = np.pad(x, pw, constant_values=np.asarray(val).item())
        elif op == "Flatten":
            axis = a.get("axis", 1)
            out = x.reshape(int(np.prod(x.shape[:axis])), -1)
        elif op == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
            out = x.reshape(shape)
        elif op == "Transpose":
            out = np.transpose(x, a.get("perm"))
        elif op == "Concat":
            out = np.concatenate(ins, axis=a["axis"])
        elif op == "Slice":
            if opset >= 10:
                out = _slice(x, ins[1], ins[2],
                             ins[3] if len(ins) > 3 else None,
                             ins[4] if len(ins) > 4 else None)
            else:
                out = _slice(x, a["starts"], a["ends"], a.get("axes"), None)
        elif op == "Gather":
            out = np.take(x, ins[1], axis=a.get("axis", 0))
        elif op == "Squeeze":
            axes = ins[1] if len(ins) > 1 else a.get("axes")
            out = np.squeeze(x, axis=tuple(int(v) for v in axes))
        elif op == "Unsqueeze":
            axes = ins[1] if len(ins) > 1 else a.get("axes")
            out = x
            for ax in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
                out = np.expand_dims(out, ax)
        elif op == "Shape":
            out = np.array(x.shape, dtype=np.int64)
        elif op == "Cast":
            out = x.astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])
        elif op == "Dropout":
            out = x
        else:
            raise NotImplementedError(f"numpy reference: op {op}")
        env[node.output[0]] = np.asarray(out)
    return {o.name: env[o.name] for o in model.graph.output}


if __name__ == "__main__":
    main()
