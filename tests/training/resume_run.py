"""One training run for the resume tests; also run as a script that SIGKILLs itself."""
import os
import signal
import sys

import numpy as np

import chainrule as cr
from chainrule.data.augment import Augment
from chainrule.optim import schedules


def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(90, 16)).astype(np.float32)
    return X, (X[:, :8].sum(axis=1) > X[:, 8:].sum(axis=1)).astype(int)


def train(epochs, checkpoint_path=None, resume=None, extra_callbacks=()):
    """Dropout, Adam, a cosine schedule, augmentation, early stopping: every kind of state."""
    net = cr.mlp([16, 12, 2], activation="relu", dropout=0.3, seed=7)
    optimizer = cr.Adam(0.01)
    callbacks = [cr.callbacks.LearningRateScheduler(schedules.get("cosine", optimizer,
                                                                  total_steps=8)),
                 cr.callbacks.EarlyStopping(monitor="loss", patience=50)]
    if checkpoint_path:
        callbacks.append(cr.callbacks.ModelCheckpoint(checkpoint_path))
    callbacks.extend(extra_callbacks)
    X, y = data()
    history = net.fit(X, y, optimizer=optimizer, epochs=epochs, batch_size=16, seed=3,
                      callbacks=callbacks, resume=resume,
                      augment=Augment(image_shape=(4, 4), shift=1, noise=0.05, seed=5))
    return net, history


class KillAfter(cr.callbacks.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, state):
        if state.epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    train(8, checkpoint_path=sys.argv[1], extra_callbacks=[KillAfter(int(sys.argv[2]))])
