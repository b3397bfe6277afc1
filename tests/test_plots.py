import keras
import numpy as np
import pytest

from kerasreg.layers import GroupNorm, InstanceNorm
from kerasreg.course.plots import image_grid, normalization_cubes, shared_statistics

X = np.random.default_rng(0).normal(size=(4, 3, 3, 6)).astype("float32")


def test_image_grid_titles_each_image_and_drops_empty_cells():
    figure = image_grid(np.zeros((5, 4, 4, 3)), titles=list("abcde"), columns=3)
    assert [axis.get_title() for axis in figure.axes] == list("abcde")


@pytest.mark.parametrize("layer, expected_extent", [
    (lambda: keras.layers.BatchNormalization(), (4, 1, 9)),
    (lambda: GroupNorm(groups=1), (1, 6, 9)),
    (lambda: InstanceNorm(), (1, 1, 9)),
    (lambda: GroupNorm(groups=2), (1, 3, 9)),
], ids=["batch", "layer", "instance", "group"])
def test_shared_statistics_marks_the_block_each_normalization_averages_over(layer, expected_extent):
    mask = shared_statistics(layer(), X, probe=(0, 0, 0, 0))
    extent = tuple(int(mask.any(axis=other).sum()) for other in ((1, 2), (0, 2), (0, 1)))
    assert extent == expected_extent
    assert mask.sum() == np.prod(expected_extent)  # a solid block, not scattered entries


def test_shared_statistics_follows_the_probe():
    mask = shared_statistics(GroupNorm(groups=2), X, probe=(2, 1, 1, 4))
    assert mask[2, 3:, :].all() and mask.sum() == 27


def test_normalization_cubes_draws_one_3d_axis_per_mask():
    figure = normalization_cubes([np.ones((2, 3, 4), bool), np.zeros((2, 3, 4), bool)], ["a", "b"])
    assert [axis.name for axis in figure.axes] == ["3d", "3d"]
