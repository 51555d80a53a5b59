#!/usr/bin/python3
"""Make the int8 demo's data sets for the bundled classifier.

Draws fresh samples from the same distribution as train.py (data.py's
make_data, other seeds, so none is a training sample) and standardises
them with the training split's scaler.json:
  calib_x.npy   256 x 10 float32, unlabelled: calibration for loom quantize
  eval_x.npy   2000 x 10 float32, held-out evaluation features
  eval_y.npy   2000 int64 labels (0/1; 8% flipped, as in training)

Needs only numpy: /usr/bin/python3 examples/classifier/make_eval.py
Re-runnable; writes byte-identical files each time.
"""
import json
import os

import numpy as np

from data import make_data

HERE = os.path.dirname(os.path.abspath(__file__))
SEED_CALIB = 1007
SEED_EVAL = 2007


def standardised(raw, scaler):
    mean = np.array(scaler["mean"])
    std = np.array(scaler["std"])
    return ((raw - mean) / std).astype(np.float32)


def main():
    with open(os.path.join(HERE, "scaler.json")) as f:
        scaler = json.load(f)
    raw, _ = make_data(np.random.default_rng(SEED_CALIB), 256)
    np.save(os.path.join(HERE, "calib_x.npy"), standardised(raw, scaler))
    raw, y = make_data(np.random.default_rng(SEED_EVAL), 2000)
    np.save(os.path.join(HERE, "eval_x.npy"), standardised(raw, scaler))
    np.save(os.path.join(HERE, "eval_y.npy"), np.ascontiguousarray(y.astype(np.int64)))


if __name__ == "__main__":
    main()
