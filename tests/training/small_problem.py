"""The small classification problem the callback tests train on."""
import numpy as np

import chainrule as cr


def points(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def classifier():
    return cr.mlp([2, 4, 2], activation="tanh", output="softmax", dtype="float64", seed=0)
