"""The optimiser tests' shared problems: a quadratic and a tiny network, each followed step by step
by an update rule written out by hand (the independent reference)."""
import numpy as np

import chainrule as cr

# f(w) = 1/2 w^T A w - b^T w, A symmetric positive definite; its gradient is A w - b.
A = [[3.0, 0.5, 0.0], [0.5, 2.0, -0.4], [0.0, -0.4, 1.0]]
B = [1.0, -2.0, 0.5]
W0 = [0.3, -0.7, 1.2]
X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.1, 0.2]])
Y = np.array([0.3, -0.5, 0.9, 0.1])


def gradient(w):
    return [sum(a * x for a, x in zip(row, w)) - b for row, b in zip(A, B)]


def follow_quadratic(opt, rule, steps=25):
    """Optimiser and scalar rule each descend f from W0 on their own; compare every step."""
    p = cr.Parameter(np.array(W0), "w")
    w, states = list(W0), [{} for _ in W0]
    for t in range(1, steps + 1):
        p.grad[...] = gradient(p.value.tolist())
        opt.step([p])
        w = [rule(wi, gi, s, t) for wi, gi, s in zip(w, gradient(w), states)]
        np.testing.assert_allclose(p.value, w, rtol=0, atol=1e-10)
    return np.array(w)


def follow_network(opt, rule, steps=20):
    """A 2-3-1 tanh network: the rule replays the network's gradients weight by weight."""
    net = cr.mlp([2, 3, 1], activation="tanh", output="identity", dtype="float64", seed=0)
    loss = cr.SquaredError()
    target = loss.prepare_target(Y, 1, net.dtype)
    params = net.parameters()
    ref = [p.value.copy() for p in params]
    states = [[{} for _ in range(p.value.size)] for p in params]
    for t in range(1, steps + 1):
        net.compute_gradients(loss, X, target)
        for p, w, st in zip(params, ref, states):
            flat_w, flat_g = w.reshape(-1), p.grad.reshape(-1)
            for i in range(flat_w.size):
                flat_w[i] = rule(float(flat_w[i]), float(flat_g[i]), st[i], t, decay=p.decay)
        opt.step(params)
        for p, w in zip(params, ref):
            np.testing.assert_allclose(p.value, w, rtol=0, atol=1e-10)
    return ref


def follow_torch(opt, make_theirs, steps=25):
    """The optimiser and torch.optim's (``make_theirs(tensor)``) each descend the quadratic
    from W0 on their own, in float64; compare every step."""
    import torch

    p = cr.Parameter(np.array(W0), "w")
    q = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    theirs = make_theirs(q)
    for _ in range(steps):
        p.grad[...] = gradient(p.value.tolist())
        opt.step([p])
        q.grad = torch.tensor(gradient(q.detach().tolist()), dtype=torch.float64)
        theirs.step()
        np.testing.assert_allclose(p.value, q.detach().numpy(), rtol=0, atol=1e-10)
