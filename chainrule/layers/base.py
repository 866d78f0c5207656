"""The layer protocol every layer follows."""


class Layer:
    """One stage of a network.

    ``forward(x, training)`` returns the output and keeps what ``backward`` needs;
    ``backward(grad_out)`` takes dL/d(output), stores the gradients of the layer's
    parameters in their ``grad`` and returns dL/d(input). Nothing is accumulated
    between steps: each forward overwrites what the previous one kept.

    ``config()`` returns the constructor's keyword arguments as plain JSON values,
    which is all a model file stores about a layer besides its arrays.
    """

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def parameters(self):
        return []

    def config(self):
        return {}

    def output_size(self, n_in):
        """Number of output features for ``n_in`` input features (same by default)."""
        return n_in

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"
