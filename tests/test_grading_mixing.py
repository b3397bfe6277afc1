import keras
import numpy as np
import pytest

from kerasreg import augment
from kerasreg.course.grading import GradingError, check_cutout_mask, check_mixed_labels
from kerasreg.layers.augmentation import cutout


def cutout_mask(height, width, center, size):
    mask = np.ones((height, width))
    top, left = center[0] - size // 2, center[1] - size // 2
    mask[max(top, 0):top + size, max(left, 0):left + size] = 0
    return mask


def cutout_mask_with_grids(height, width, center, size):
    rows, columns = np.ogrid[:height, :width]
    top, left = center[0] - size // 2, center[1] - size // 2
    inside = (rows >= top) & (rows < top + size) & (columns >= left) & (columns < left + size)
    return np.where(inside, 0.0, 1.0)


def cutout_mask_with_kerasreg(height, width, center, size):
    ones = np.ones((1, height, width, 1), "float32")
    return keras.ops.convert_to_numpy(cutout(ones, [[list(center)]], size))[0, ..., 0]


def mixup_label(label, partner_label, lam):
    return lam * label + (1 - lam) * partner_label


def cutmix_label(label, partner_label, corner, size, image_shape):
    rows = np.clip([corner[0], corner[0] + size[0]], 0, image_shape[0])
    columns = np.clip([corner[1], corner[1] + size[1]], 0, image_shape[1])
    pasted = (rows[1] - rows[0]) * (columns[1] - columns[0]) / np.prod(image_shape)
    return (1 - pasted) * label + pasted * partner_label


def cutmix_label_by_counting_pixels(label, partner_label, corner, size, image_shape):
    box = np.zeros(image_shape, bool)
    box[max(corner[0], 0):corner[0] + size[0], max(corner[1], 0):corner[1] + size[1]] = True
    label *= 1 - box.mean()  # in place: the check passes copies
    return label + box.mean() * partner_label


def cutmix_label_with_kerasreg(label, partner_label, corner, size, image_shape):
    images = np.zeros((2, *image_shape, 1), "float32")
    _, labels = augment.cutmix(images, np.stack([label, partner_label]),
                               corners=[corner, corner], sizes=[size, size], permutation=[1, 0])
    return keras.ops.convert_to_numpy(labels)[0]


@pytest.mark.parametrize("answer", [cutout_mask, cutout_mask_with_grids,
                                    cutout_mask_with_kerasreg])
def test_check_cutout_mask_accepts_correct_variants(answer):
    assert check_cutout_mask(answer) == "Cutout mask: all checks passed"


def test_check_cutout_mask_catches_an_inverted_mask():
    with pytest.raises(GradingError, match="the mask keeps a pixel with 1"):
        check_cutout_mask(lambda h, w, center, size: 1 - cutout_mask(h, w, center, size))


def test_check_cutout_mask_catches_swapped_coordinates():
    with pytest.raises(GradingError, match=r"`center` is \(row, column\)"):
        check_cutout_mask(lambda h, w, center, size: cutout_mask(h, w, center[::-1], size))


def test_check_cutout_mask_catches_a_square_starting_at_the_centre():
    def corner_at_centre(height, width, center, size):
        mask = np.ones((height, width))
        mask[center[0]:center[0] + size, center[1]:center[1] + size] = 0
        return mask

    with pytest.raises(GradingError, match="top-left corner at `center`"):
        check_cutout_mask(corner_at_centre)


def test_check_cutout_mask_catches_size_used_as_half_side():
    def half_side(height, width, center, size):
        mask = np.ones((height, width))
        top, left = max(center[0] - size, 0), max(center[1] - size, 0)
        mask[top:center[0] + size, left:center[1] + size] = 0
        return mask

    with pytest.raises(GradingError, match="not the half-side"):
        check_cutout_mask(half_side)


def test_check_cutout_mask_catches_an_off_by_one_start():
    def rounded_up(height, width, center, size):
        mask = np.ones((height, width))
        top, left = center[0] - (size - 1) // 2, center[1] - (size - 1) // 2
        mask[max(top, 0):top + size, max(left, 0):left + size] = 0
        return mask

    with pytest.raises(GradingError, match="off by one"):
        check_cutout_mask(rounded_up)


def test_check_cutout_mask_catches_a_negative_slice_start():
    def unclipped(height, width, center, size):
        mask = np.ones((height, width))
        top, left = center[0] - size // 2, center[1] - size // 2
        mask[top:top + size, left:left + size] = 0
        return mask

    with pytest.raises(GradingError, match="clip a negative start to 0"):
        check_cutout_mask(unclipped)


def test_check_cutout_mask_catches_swapped_height_and_width():
    def width_first(height, width, center, size):
        mask = np.ones((width, height))
        top, left = center[0] - size // 2, center[1] - size // 2
        mask[max(top, 0):top + size, max(left, 0):left + size] = 0
        return mask

    with pytest.raises(GradingError, match="Did you swap them"):
        check_cutout_mask(width_first)


def test_check_cutout_mask_reports_a_stub_as_not_implemented():
    def cutout_mask(height, width, center, size):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="cutout_mask is not implemented yet"):
        check_cutout_mask(cutout_mask)


@pytest.mark.parametrize("answer", [cutmix_label, cutmix_label_by_counting_pixels,
                                    cutmix_label_with_kerasreg])
def test_check_mixed_labels_accepts_correct_variants(answer):
    assert check_mixed_labels(mixup_label, answer) == "mixup and CutMix labels: all checks passed"


def test_check_mixed_labels_accepts_keras_ops_for_mixup():
    def mixup_with_keras(label, partner_label, lam):
        return keras.ops.convert_to_numpy(
            keras.ops.add(lam * keras.ops.convert_to_tensor(label), (1 - lam) * partner_label))

    assert check_mixed_labels(mixup_with_keras, cutmix_label).endswith("all checks passed")


@pytest.mark.parametrize("wrong, message", [
    (lambda y, p, lam: (1 - lam) * y + lam * p, "Did you swap the weights"),
    (lambda y, p, lam: lam * y, "forget the partner's label"),
    (lambda y, p, lam: y if lam >= 0.5 else p, "hard label of the larger weight"),
    (lambda y, p, lam: np.sqrt(lam) * y + (1 - np.sqrt(lam)) * p, r"use sqrt\(lam\)"),
])
def test_check_mixed_labels_catches_mixup_mistakes(wrong, message):
    with pytest.raises(GradingError, match=message):
        check_mixed_labels(wrong, cutmix_label)


def unclipped_area(label, partner_label, corner, size, image_shape):
    drawn = size[0] * size[1] / np.prod(image_shape)
    return (1 - drawn) * label + drawn * partner_label


def swapped_weights(label, partner_label, corner, size, image_shape):
    return cutmix_label(partner_label, label, corner, size, image_shape)


def inclusive_end(label, partner_label, corner, size, image_shape):
    return cutmix_label(label, partner_label, corner, (size[0] + 1, size[1] + 1), image_shape)


def partner_forgotten(label, partner_label, corner, size, image_shape):
    return cutmix_label(label, 0 * partner_label, corner, size, image_shape)


@pytest.mark.parametrize("wrong, message", [
    (unclipped_area, "Clip it to the image first"),
    (swapped_weights, "Did you swap the weights"),
    (inclusive_end, "Off by one"),
    (partner_forgotten, "forget the partner's label"),
])
def test_check_mixed_labels_catches_cutmix_mistakes(wrong, message):
    with pytest.raises(GradingError, match=message):
        check_mixed_labels(mixup_label, wrong)


def test_check_mixed_labels_catches_a_wrong_shape():
    with pytest.raises(GradingError, match=r"must return a label of shape \(4,\)"):
        check_mixed_labels(lambda y, p, lam: np.stack([y, p]), cutmix_label)


def test_check_mixed_labels_reports_a_stub_as_not_implemented():
    def cutmix_label(label, partner_label, corner, size, image_shape):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="cutmix_label is not implemented yet"):
        check_mixed_labels(mixup_label, cutmix_label)
