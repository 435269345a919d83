"""A generated data set of simple shapes: no files, any size, for smoke runs and benchmarks.

Each image is a dark background with a rectangle and a disc on top, of random
position, size and intensity (color, with 3 channels), drawn with antialiased
edges so that a generator has something smooth to learn.
"""

import numpy as np

from dcgan_keras.data.errors import DataError

#: How many images are drawn per vectorized step; bounds the float32 scratch memory.
_CHUNK = 512
_SPLIT_STREAMS = {"train": 0, "test": 1}


def _coverage_1d(coords, low, high):
    """Fraction of each pixel (centers ``coords``) inside [low, high], for antialiasing."""
    return np.clip(np.minimum(coords - low, high - coords) + 0.5, 0.0, 1.0)


def _draw(params, size, channels):
    """Renders the images described by ``params`` (arrays of equal length), float in [0, 1]."""
    coords = np.arange(size, dtype=np.float32) + 0.5
    rows = coords[None, :, None]
    cols = coords[None, None, :]

    def column(name):
        return params[name][:, None, None]

    rect_alpha = _coverage_1d(rows, column("rect_top"), column("rect_bottom")) * _coverage_1d(
        cols, column("rect_left"), column("rect_right")
    )
    dist = np.sqrt((rows - column("disc_row")) ** 2 + (cols - column("disc_col")) ** 2)
    disc_alpha = np.clip(column("disc_radius") - dist + 0.5, 0.0, 1.0)

    # Painting the rectangle then the disc over the background is a per-pixel
    # mix of three colors; one batched matmul does it for every channel at once.
    weights = np.stack(
        [(1.0 - rect_alpha) * (1.0 - disc_alpha), rect_alpha * (1.0 - disc_alpha), disc_alpha],
        axis=-1,
    ).reshape(len(dist), size * size, 3)
    colors = np.stack([params["background"], params["rect_color"], params["disc_color"]], axis=1)
    return (weights @ colors).reshape(len(dist), size, size, channels)


def make_shapes(num, image_size, channels, seed=0, stream=0):
    """Draws ``num`` shape images, uint8 (num, image_size, image_size, channels).

    Deterministic in (seed, stream), and independent of how the work is
    chunked: all random parameters are drawn up front.

    Args:
        num: how many images.
        image_size: their side.
        channels: 1 or 3.
        seed: the random seed.
        stream: a second seed component (the split), so "test" differs from "train".

    Example:
        >>> make_shapes(4, 32, 3, seed=0).shape
        (4, 32, 32, 3)
    """
    rng = np.random.default_rng([seed, stream])
    size = float(image_size)
    f32 = np.float32
    top, left = (rng.uniform(0.05, 0.6, (2, num)) * size).astype(f32)
    height, width = (rng.uniform(0.15, 0.45, (2, num)) * size).astype(f32)
    params = {
        "rect_top": top,
        "rect_left": left,
        "rect_bottom": top + height,
        "rect_right": left + width,
        "disc_row": (rng.uniform(0.2, 0.8, num) * size).astype(f32),
        "disc_col": (rng.uniform(0.2, 0.8, num) * size).astype(f32),
        "disc_radius": (rng.uniform(0.1, 0.3, num) * size).astype(f32),
        "background": rng.uniform(0.0, 0.15, (num, channels)).astype(f32),
        "rect_color": rng.uniform(0.35, 1.0, (num, channels)).astype(f32),
        "disc_color": rng.uniform(0.35, 1.0, (num, channels)).astype(f32),
    }
    out = np.empty((num, image_size, image_size, channels), np.uint8)
    for start in range(0, num, _CHUNK):
        chunk = {k: v[start : start + _CHUNK] for k, v in params.items()}
        image = _draw(chunk, image_size, channels)
        np.rint(image * 255.0, out=image)
        out[start : start + _CHUNK] = image
    return out


def load_synthetic(request):
    """The ``synthetic`` data set: options ``num`` (default 1024) and ``seed`` (default 0)."""
    num = request.options.get("num", 1024)
    seed = request.options.get("seed", 0)
    for name, value, minimum in (("num", num, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise DataError(f"synthetic option {name} must be an int >= {minimum}, got {value!r}.")
    if request.limit is not None:
        num = min(num, request.limit)
    images = make_shapes(
        int(num), request.image_size, request.channels, int(seed), _SPLIT_STREAMS[request.split]
    )
    return images, f"synthetic(num={num}, seed={seed})"
