#!/usr/bin/python3
"""Train the loom demo classifier and export it to ONNX.

A small, fully deterministic binary classifier: 10 input features,
a 10-10-1 MLP (Linear -> ReLU -> Linear -> Sigmoid), trained with Adam
on binary cross-entropy.  The data is synthetic: the label follows a
nonlinear rule of the raw features, and a fraction of labels is flipped
so the problem is not perfectly separable.

Outputs (next to this script):
  classifier.onnx   the model, opset 13, input "features" (batch x 10),
                    output "probability" (batch x 1), dynamic batch axis
  test_x.npy        20 x 10 float32, standardised held-back test features
  test_y.npy        20 int64 labels (0/1)
  torch_probs.npy   20 x 1 float32, PyTorch's output on test_x (golden)
  scaler.json       per-feature mean and std of the training split; raw
                    features are standardised as (raw - mean) / std

Run with Debian's python (torch 1.13, onnx 1.12):
  /usr/bin/python3 examples/classifier/train.py
The script is re-runnable and writes byte-identical files each time.
"""
import json
import os
import random

import numpy as np
import onnx
import torch
import torch.nn as nn

from data import N_FEATURES, make_data

SEED = 7
N_TRAIN = 400
N_TEST = 20
EPOCHS = 60
HERE = os.path.dirname(os.path.abspath(__file__))


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, 10),
            nn.ReLU(),
            nn.Linear(10, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x)


def accuracy(model, x, y):
    with torch.no_grad():
        p = model(torch.from_numpy(x)).numpy()[:, 0]
    return float(np.mean((p > 0.5).astype(np.int64) == y))


def main():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    rng = np.random.default_rng(SEED)
    raw, y = make_data(rng, N_TRAIN + N_TEST)
    raw_train, y_train = raw[:N_TRAIN], y[:N_TRAIN]
    raw_test, y_test = raw[N_TRAIN:], y[N_TRAIN:]

    mean = raw_train.mean(axis=0)
    std = raw_train.std(axis=0)
    x_train = ((raw_train - mean) / std).astype(np.float32)
    x_test = ((raw_test - mean) / std).astype(np.float32)

    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.BCELoss()
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train.astype(np.float32)).unsqueeze(1)
    gen = torch.Generator().manual_seed(SEED)
    batch = 32
    for _ in range(EPOCHS):
        model.train()
        perm = torch.randperm(N_TRAIN, generator=gen)
        for i in range(0, N_TRAIN, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()

    # golden output
    with torch.no_grad():
        probs = model(torch.from_numpy(x_test)).numpy().astype(np.float32)

    onnx_path = os.path.join(HERE, "classifier.onnx")
    torch.onnx.export(
        model, torch.from_numpy(x_test), onnx_path,
        opset_version=13,
        input_names=["features"], output_names=["probability"],
        dynamic_axes={"features": {0: "batch"}, "probability": {0: "batch"}},
        do_constant_folding=True,
    )
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)

    np.save(os.path.join(HERE, "test_x.npy"), np.ascontiguousarray(x_test))
    np.save(os.path.join(HERE, "test_y.npy"),
            np.ascontiguousarray(y_test.astype(np.int64)))
    np.save(os.path.join(HERE, "torch_probs.npy"), np.ascontiguousarray(probs))
    scaler = {
        "description": "standardised feature = (raw - mean) / std, "
                       "fitted on the training split",
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
    }
    with open(os.path.join(HERE, "scaler.json"), "w") as f:
        json.dump(scaler, f, indent=2)
        f.write("\n")

    train_acc = accuracy(model, x_train, y_train)
    test_acc = accuracy(model, x_test, y_test)
    print(f"train accuracy: {train_acc:.4f} ({N_TRAIN} samples)")
    print(f"test accuracy:  {test_acc:.4f} ({N_TEST} samples)")
    print("ops:", [n.op_type for n in m.graph.node])


if __name__ == "__main__":
    main()
