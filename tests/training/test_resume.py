import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from resume_run import train

HERE = Path(__file__).parent


def assert_same(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.value, q.value), p.name


def test_resume_from_a_checkpoint_is_bit_identical(tmp_path):
    full, history = train(8, checkpoint_path=str(tmp_path / "e{epoch}.safetensors"))
    resumed, resumed_history = train(8, resume=tmp_path / "e3.safetensors")
    assert_same(full, resumed)
    assert dict(resumed_history) == dict(history)
    assert resumed_history.iterations == history.iterations == 8 * 6


def test_resume_after_sigkill_is_bit_identical(tmp_path):
    checkpoint = tmp_path / "ckpt.safetensors"
    done = subprocess.run([sys.executable, str(HERE / "resume_run.py"), str(checkpoint), "5"],
                          cwd=HERE, capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr  # killed by SIGKILL after epoch 5
    assert cr.load(checkpoint).metadata["epoch"] == 5
    resumed, _ = train(8, resume=checkpoint)
    full, _ = train(8)
    assert_same(full, resumed)


def test_checkpoint_is_a_loadable_model(tmp_path):
    net, _ = train(2, checkpoint_path=str(tmp_path / "c.safetensors"))
    loaded = cr.load(tmp_path / "c.safetensors")
    X = np.ones((3, 16), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    with pytest.raises(cr.ModelFileError, match="not a checkpoint"):
        net.save(tmp_path / "plain.safetensors")
        train(3, resume=tmp_path / "plain.safetensors")


def test_resume_refuses_other_data_or_network(tmp_path):
    train(2, checkpoint_path=str(tmp_path / "c.safetensors"))
    other = cr.mlp([16, 5, 2], seed=0)
    X = np.zeros((90, 16), dtype=np.float32)
    with pytest.raises(cr.ModelFileError, match="different network"):
        other.fit(X, np.zeros(90, dtype=int), resume=tmp_path / "c.safetensors")
    same_shape = cr.mlp([16, 12, 2], activation="relu", dropout=0.3, seed=7)
    with pytest.raises(cr.InvalidValueError, match="other data"):
        same_shape.fit(X, np.zeros(90, dtype=int), optimizer=cr.Adam(0.01), batch_size=16,
                       resume=tmp_path / "c.safetensors")
