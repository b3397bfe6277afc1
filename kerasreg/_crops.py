"""Square crops at random positions of one image: NumPy only, for data loaders and helpers.

Shared by `kerasreg.preprocessing.random_crops` and the texture patches of
`kerasreg.course.datasets.load_textures`; each checks its own argument first.
"""

import numpy as np


def random_squares(image, size, count, rng):
    """`count` squares of side `size` at uniform random positions of `image`.

    Args:
        image: a `(height, width, ...)` array, at least `size` on both sides.
        size: side of the squares in pixels.
        count: number of squares.
        rng: a NumPy `Generator`; it draws all rows, then all columns.

    Returns:
        An array `(count, size, size, ...)` of the image's dtype.

    Example:
    >>> image = np.arange(16).reshape(4, 4)
    >>> random_squares(image, 4, 2, np.random.default_rng(0)).tolist() == [image.tolist()] * 2
    True
    """
    height, width = image.shape[:2]
    tops = rng.integers(0, height - size + 1, count)
    lefts = rng.integers(0, width - size + 1, count)
    return np.stack([image[top:top + size, left:left + size] for top, left in zip(tops, lefts)])
