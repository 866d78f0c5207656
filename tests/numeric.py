"""Central finite differences, the independent reference every backward pass is checked against."""
import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to the array x (changed in place)."""
    grad = np.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        up = f()
        flat[i] = keep - eps
        down = f()
        flat[i] = keep
        out[i] = (up - down) / (2 * eps)
    return grad
