"""The demo classifier's synthetic data: raw features on differing scales
and a nonlinear labelling rule with a fraction of labels flipped.
Shared by train.py (training and the 20 test samples) and make_eval.py
(the calibration and evaluation sets of the int8 demo)."""
import numpy as np

N_FEATURES = 10
LABEL_NOISE = 0.08


def make_data(rng, n):
    """Raw features on differing scales and the nonlinear labelling rule."""
    scales = np.array([1.0, 2.0, 0.5, 3.0, 1.5, 1.0, 4.0, 0.8, 2.5, 1.2])
    offsets = np.array([0.0, 1.0, -2.0, 5.0, 0.5, -1.0, 10.0, 0.0, -3.0, 2.0])
    z = rng.standard_normal((n, N_FEATURES))
    raw = z * scales + offsets
    # nonlinear rule on the underlying standard-normal coordinates
    score = (z[:, 0] * z[:, 1]
             + 0.8 * np.abs(z[:, 2])
             - 0.6 * z[:, 3] ** 2
             + 0.7 * z[:, 4]
             - 0.5 * z[:, 5]
             + 0.3 * np.maximum(z[:, 6], 0.0))
    y = (score > 0.0).astype(np.int64)
    flip = rng.random(n) < LABEL_NOISE
    y[flip] = 1 - y[flip]
    return raw, y
