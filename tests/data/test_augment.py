"""Augment: seeded shifts, rotations and noise for image batches.

Expected images are built independently: shifts pixel by pixel in plain loops,
rotations by 90 degrees with np.rot90 and at other angles with scipy.ndimage.
"""
import numpy as np
import pytest

from chainrule import backend
from chainrule.data.augment import Augment, rotate_images, shift_images
from chainrule.errors import DTypeError, InvalidValueError, ShapeError


def shifted_by_loops(image, dy, dx):
    """out[y, x] = image[y - dy, x - dx] where that is inside the image, else 0."""
    h, w = image.shape
    out = np.zeros_like(image)
    for y in range(h):
        for x in range(w):
            if 0 <= y - dy < h and 0 <= x - dx < w:
                out[y, x] = image[y - dy, x - dx]
    return out


# ---- shifts -------------------------------------------------------------------

def test_a_bright_pixel_moves_by_exactly_the_drawn_offset():
    X = np.zeros((200, 28 * 28), dtype=np.float32)
    X[:, 10 * 28 + 12] = 1.0
    augment = Augment(shift=3, seed=0)
    out = augment(X)
    assert augment.last_shifts.shape == (200, 2)
    for image, (dy, dx) in zip(out.reshape(-1, 28, 28), augment.last_shifts):
        expected = np.zeros((28, 28), dtype=np.float32)
        expected[10 + dy, 12 + dx] = 1.0
        np.testing.assert_array_equal(image, expected)


def test_shift_offsets_cover_the_whole_range_and_no_more():
    augment = Augment(shift=2, seed=1)
    augment(np.zeros((2000, 784), dtype=np.float32))
    assert set(augment.last_shifts.ravel().tolist()) == {-2, -1, 0, 1, 2}


def test_shift_of_whole_images_matches_a_pixel_loop(rng):
    X = rng.random((16, 7 * 9))
    augment = Augment(image_shape=(7, 9), shift=4, seed=3)
    out = augment(X).reshape(-1, 7, 9)
    for image, result, (dy, dx) in zip(X.reshape(-1, 7, 9), out, augment.last_shifts):
        np.testing.assert_array_equal(result, shifted_by_loops(image, dy, dx))


def test_pixels_shifted_past_the_edge_vanish():
    image = np.zeros((1, 1, 5, 5))
    image[0, 0, 0, 0] = 1.0
    np.testing.assert_array_equal(shift_images(image, [[-1, 0]]), np.zeros((1, 1, 5, 5)))
    np.testing.assert_array_equal(shift_images(image, [[0, 6]]), np.zeros((1, 1, 5, 5)))


def test_all_channels_of_an_image_shift_together(rng):
    X = rng.random((6, 3, 8, 8)).astype(np.float32)
    augment = Augment(shift=2, seed=5, clip=None)
    out = augment(X)
    for image, result, (dy, dx) in zip(X, out, augment.last_shifts):
        for channel in range(3):
            np.testing.assert_array_equal(result[channel],
                                          shifted_by_loops(image[channel], dy, dx))


# ---- rotations ----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(28, 28), (5, 5), (6, 6)])
def test_rotation_by_90_degrees_is_rot90(rng, shape):
    image = rng.random(shape)
    turned = rotate_images(image[None, None], [90.0])[0, 0]
    # order=1 hits the pixel grid exactly, up to cos(90 deg) = 6e-17 in the coordinates.
    np.testing.assert_allclose(turned, np.rot90(image), rtol=0, atol=1e-12)
    back = rotate_images(image[None, None], [-90.0])[0, 0]
    np.testing.assert_allclose(back, np.rot90(image, -1), rtol=0, atol=1e-12)


def test_rotation_by_180_degrees_of_a_rectangle(rng):
    image = rng.random((5, 8))
    turned = rotate_images(image[None, None], [180.0])[0, 0]
    np.testing.assert_allclose(turned, np.rot90(image, 2), rtol=0, atol=1e-12)


def test_rotation_at_any_angle_matches_scipy(rng):
    ndimage = pytest.importorskip("scipy.ndimage")
    images = rng.random((20, 2, 11, 13))
    angles = rng.uniform(-180, 180, 20)
    out = rotate_images(images, angles)
    for image, result, angle in zip(images, out, angles):
        for channel in range(2):
            expected = ndimage.rotate(image[channel], angle, reshape=False, order=1,
                                      mode="grid-constant", cval=0.0)
            np.testing.assert_allclose(result[channel], expected, rtol=0, atol=1e-12)


def test_rotation_of_a_large_batch_is_the_same_slice_by_slice(rng):
    images = rng.random((100, 1, 28, 28))  # more than one slice of work
    angles = rng.uniform(-30, 30, 100)
    whole = rotate_images(images, angles)
    one_by_one = np.concatenate([rotate_images(images[i:i + 1], angles[i:i + 1])
                                 for i in range(100)])
    np.testing.assert_array_equal(whole, one_by_one)


def test_augment_rotates_by_the_drawn_angles(rng):
    X = rng.random((64, 784)).astype(np.float32)
    augment = Augment(rotate=20.0, seed=2)
    out = augment(X)
    angles = augment.last_angles
    assert angles.shape == (64,) and np.all(np.abs(angles) <= 20) and np.ptp(angles) > 10
    expected = rotate_images(X.reshape(64, 1, 28, 28), angles).reshape(64, 784)
    np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-6)


def test_rotation_in_float32_is_close_to_float64(rng):
    images = rng.random((8, 1, 28, 28))
    angles = rng.uniform(-45, 45, 8)
    single = rotate_images(images.astype(np.float32), angles)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, rotate_images(images, angles), atol=1e-5)


# ---- noise and clipping -----------------------------------------------------------

def test_noise_has_the_requested_standard_deviation():
    X = np.full((500, 784), 0.5)
    out = Augment(noise=0.1, seed=4, clip=None)(X)
    diff = out - X
    n = diff.size  # 392,000 draws: standard error of the std about 0.1/sqrt(2n) = 1.1e-4
    assert abs(diff.std() - 0.1) < 6 * 0.1 / np.sqrt(2 * n)
    assert abs(diff.mean()) < 6 * 0.1 / np.sqrt(n)
    neighbours = np.corrcoef(diff[:, :-1].ravel(), diff[:, 1:].ravel())[0, 1]
    assert abs(neighbours) < 0.01  # independent per pixel


def test_output_is_clipped(rng):
    X = rng.random((50, 784)).astype(np.float32)
    out = Augment(noise=0.5, seed=0)(X)
    assert out.min() == 0.0 and out.max() == 1.0
    wide = Augment(noise=0.5, seed=0, clip=(-0.25, 2.0))(X)
    assert wide.min() == -0.25 and wide.max() <= 2.0


def test_clip_none_keeps_standardised_values():
    X = np.full((10, 784), -3.0, dtype=np.float32)
    np.testing.assert_array_equal(Augment(clip=None)(X), X)


# ---- reproducibility and state -------------------------------------------------------

def everything(seed):
    return Augment(shift=2, rotate=15, noise=0.05, seed=seed)


def test_same_seed_same_output(rng):
    X = rng.random((32, 784)).astype(np.float32)
    a, b = everything(7), everything(7)
    for _ in range(3):
        np.testing.assert_array_equal(a(X), b(X))


def test_different_seeds_and_successive_batches_differ(rng):
    X = rng.random((32, 784)).astype(np.float32)
    a = everything(7)
    first = a(X)
    assert not np.array_equal(first, a(X))
    assert not np.array_equal(first, everything(8)(X))


def test_state_round_trip_replays_the_next_batches(rng):
    X = rng.random((16, 784)).astype(np.float32)
    a = everything(11)
    a(X)
    saved = a.state()
    expected = [a(X), a(X)]
    b = everything(999)
    b.set_state(saved)
    for want in expected:
        np.testing.assert_array_equal(b(X), want)


def test_state_is_a_plain_dict():
    state = everything(0).state()
    assert isinstance(state, dict) and state["bit_generator"] == "PCG64"


@pytest.mark.parametrize("bad", [None, {"bit_generator": "MT19937"}, "state",
                                 {"bit_generator": "PCG64", "state": "x"}])
def test_set_state_rejects_what_state_did_not_return(bad):
    with pytest.raises(InvalidValueError, match="state"):
        everything(0).set_state(bad)


def test_no_seed_draws_from_the_global_generator_reproducibly(rng):
    X = rng.random((8, 784)).astype(np.float32)
    backend.seed(123)
    first = everything(None)(X)
    backend.seed(123)
    np.testing.assert_array_equal(everything(None)(X), first)


def test_set_state_never_rewinds_the_global_generator():
    backend.seed(5)
    a = everything(None)
    saved = a.state()
    before = backend.rng().bit_generator.state
    a.set_state(saved)
    assert backend.rng().bit_generator.state == before


# ---- the input is never changed; shapes and dtypes kept --------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"shift": 2}, {"rotate": 10.0}, {"noise": 0.1},
                                    {"shift": 1, "rotate": 5.0, "noise": 0.1}])
def test_input_is_untouched_and_never_returned(rng, kwargs):
    X = rng.random((12, 784)).astype(np.float32) * 1.5  # values above clip too
    keep = X.copy()
    out = Augment(seed=0, **kwargs)(X)
    np.testing.assert_array_equal(X, keep)
    assert not np.shares_memory(out, X)


@pytest.mark.parametrize("shape,image_shape", [((9, 784), (28, 28)), ((9, 24), (4, 6)),
                                               ((9, 3, 10, 12), (28, 28)),
                                               ((0, 784), (28, 28))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype_are_kept(rng, shape, image_shape, dtype):
    X = rng.random(shape).astype(dtype)
    out = Augment(image_shape=image_shape, shift=1, rotate=30.0, noise=0.1, seed=0)(X)
    assert out.shape == X.shape and out.dtype == X.dtype


def test_no_augmentation_is_a_clipped_copy(rng):
    X = rng.random((4, 784))
    np.testing.assert_array_equal(Augment()(X), X)


# ---- errors that name the argument -----------------------------------------------------

@pytest.mark.parametrize("kwargs,name", [
    ({"shift": -1}, "shift"), ({"shift": 1.5}, "shift"), ({"shift": True}, "shift"),
    ({"noise": -0.1}, "noise"), ({"noise": float("inf")}, "noise"),
    ({"noise": float("nan")}, "noise"),
    ({"rotate": -1.0}, "rotate"), ({"rotate": 180.5}, "rotate"), ({"rotate": "10"}, "rotate"),
    ({"image_shape": (28,)}, "image_shape"), ({"image_shape": (0, 28)}, "image_shape"),
    ({"image_shape": (28.0, 28)}, "image_shape"),
    ({"clip": (1.0, 0.0)}, "clip"), ({"clip": 1.0}, "clip"),
])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(InvalidValueError, match=f"^{name}: "):
        Augment(**kwargs)


def test_rotate_accepts_the_whole_range():
    Augment(rotate=0)
    Augment(rotate=180)


def test_row_width_must_match_image_shape():
    with pytest.raises(ShapeError, match=r"image_shape.*784.*\(5, 64\).*image_shape=\(8, 8\)"):
        Augment(shift=1)(np.zeros((5, 64), dtype=np.float32))


def test_three_dimensional_input_is_rejected():
    with pytest.raises(ShapeError, match="X: "):
        Augment()(np.zeros((5, 28, 28), dtype=np.float32))


def test_integer_pixels_are_rejected():
    with pytest.raises(DTypeError, match="X: .*uint8"):
        Augment()(np.zeros((5, 784), dtype=np.uint8))
