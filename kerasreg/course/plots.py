"""Figures the labs and lectures share: image grids, the normalization cubes."""

import numpy as np

from kerasreg._validation import check_number, fail


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

    check_number("columns", columns, 1, integer=True)
    count = len(images)
    if not count:
        fail("images", "at least one image", images)
    if titles is not None and len(titles) < count:
        fail("titles", f"one title per image (at least {count})", titles)
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


def shared_statistics(layer, activations, probe=(0, 0, 0, 0)):
    """The entries a normalization layer normalizes together with one entry.

    The lecture's comparison of batch, layer, instance and group norm (Wu &
    He's cube figure) marks, in an (N, C, H*W) cube, the entries that share
    one mean and variance. This measures that set from the layer itself
    instead of assuming its axes: it moves entry `probe` of `activations` and
    marks every output that moves with it. The layer runs in training mode,
    so batch norm uses the batch's statistics; entries normalized with other
    statistics keep bit-identical outputs.

    Args:
        layer: a normalization layer taking channels-last input of rank 4
            (`keras.layers.BatchNormalization`, `GroupNorm`, `InstanceNorm`,
            ...). A BatchNormalization's moving statistics are updated:
            pass a fresh layer.
        activations: float array of shape `(N, H, W, C)`.
        probe: `(n, h, w, c)` index of the entry to move.
            Defaults to `(0, 0, 0, 0)`.

    Returns:
        A bool NumPy array of shape `(N, C, H * W)`.

    Example:
    >>> from kerasreg.layers import GroupNorm
    >>> x = np.random.default_rng(0).normal(size=(4, 3, 3, 6)).astype("float32")
    >>> int(shared_statistics(GroupNorm(groups=2), x).sum())  # 1 example, 3 channels, 9 positions
    27
    """
    import keras

    activations = np.asarray(activations, dtype="float32")
    bumped = activations.copy()
    bumped[probe] += 1.0
    before = keras.ops.convert_to_numpy(layer(activations, training=True))
    after = keras.ops.convert_to_numpy(layer(bumped, training=True))
    moved = after != before
    moved[probe] = True
    n, height, width, channels = activations.shape
    return moved.transpose(0, 3, 1, 2).reshape(n, channels, height * width)


def normalization_cubes(masks, titles=None, size=3.0):
    """Draw `(N, C, H*W)` masks as cubes, the lecture's normalization figure.

    Args:
        masks: list of bool arrays of shape `(N, C, H*W)`, e.g. from
            `shared_statistics`; marked entries are drawn blue.
        titles: one title per mask. Defaults to `None`.
        size: inches per cube. Defaults to `3.0`.

    Returns:
        The matplotlib `Figure`.

    Example:
    >>> figure = normalization_cubes([np.ones((2, 3, 4), bool)], titles=["all"])
    >>> len(figure.axes)
    1
    """
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(size * len(masks), size))
    for index, mask in enumerate(masks):
        axis = figure.add_subplot(1, len(masks), index + 1, projection="3d")
        cube = np.asarray(mask, bool).transpose(1, 0, 2)  # x: C, y: N, z: H*W as in Wu & He
        colours = np.where(cube[..., None], (0.25, 0.45, 0.85, 0.9), (0.85, 0.85, 0.85, 0.15))
        axis.voxels(np.ones_like(cube), facecolors=colours, edgecolor=(0.3, 0.3, 0.3, 0.4),
                    linewidth=0.3)
        axis.set_xlabel("C")
        axis.set_ylabel("N")
        axis.set_zlabel("H, W")
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_zticks([])
        axis.set_box_aspect(None, zoom=0.85)  # keeps the axis labels inside the panel
        if titles is not None:
            axis.set_title(str(titles[index]), fontsize=10)
    figure.tight_layout()
    return figure
