"""Figures the labs and lectures share: image grids."""

import numpy as np


def image_grid(images, titles=None, columns=8, size=1.2, cmap="gray"):
    """Show images in a grid, one optional title each.

    Args:
        images: array or list of `(height, width[, channels])` images,
            float in [0, 1] or uint8.
        titles: optional labels, one per image. Defaults to `None`.
        columns: images per row. Defaults to `8`.
        size: inches per image. Defaults to `1.2`.
        cmap: colour map of single-channel images. Defaults to `"gray"`.

    Returns:
        The matplotlib `Figure`.

    Example:
    >>> figure = image_grid(np.zeros((3, 8, 8, 1)), titles=["a", "b", "c"])
    >>> len(figure.axes)
    3
    """
    import matplotlib.pyplot as plt

    count = len(images)
    columns = min(columns, count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows),
                                squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index >= count:
            axis.remove()
            continue
        image = np.asarray(images[index])
        axis.imshow(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image,
                    cmap=cmap)
        axis.set_axis_off()
        if titles is not None:
            axis.set_title(str(titles[index]), fontsize=9)
    figure.tight_layout()
    return figure
