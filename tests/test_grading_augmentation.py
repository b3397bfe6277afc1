import keras
import numpy as np
import pytest

from kerasreg import tta
from kerasreg.course.grading import GradingError, check_ten_crop_average


def corners(height, width, size):
    return [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size),
            ((height - size) // 2, (width - size) // 2)]


def ten_crop_average(predict, image, crop_size):
    height, width, s = image.shape[0], image.shape[1], crop_size
    crops = [view[top:top + s, left:left + s] for view in (image, image[:, ::-1])
             for top, left in corners(height, width, s)]
    return predict(np.stack(crops)).mean(axis=0)


def ten_crop_mirroring_each_crop(predict, image, crop_size):
    s = crop_size
    five = [image[top:top + s, left:left + s] for top, left in corners(*image.shape[:2], s)]
    total = 0
    for crop in five + [np.flip(crop, axis=1) for crop in five]:
        total += predict(crop[None])[0]  # one call per crop: slow, but correct
    return total / 10


def ten_crop_with_kerasreg(predict, image, crop_size):
    crops = keras.ops.convert_to_numpy(tta.ten_crop(image[None], crop_size))
    return predict(crops).mean(axis=0)


def five_crops(predict, image, crop_size):
    s = crop_size
    crops = [image[top:top + s, left:left + s] for top, left in corners(*image.shape[:2], s)]
    return predict(np.stack(crops)).mean(axis=0)


def centre_only(predict, image, crop_size):
    top, left = corners(*image.shape[:2], crop_size)[-1]
    return predict(image[None, top:top + crop_size, left:left + crop_size])[0]


def upside_down(predict, image, crop_size):
    return (five_crops(predict, image, crop_size) + five_crops(predict, image[::-1], crop_size)) / 2


def off_by_one(predict, image, crop_size):
    height, width, s = image.shape[0], image.shape[1], crop_size
    places = [(0, 0), (0, width - s - 1), (height - s - 1, 0), (height - s - 1, width - s - 1),
              corners(height, width, s)[-1]]
    crops = [view[top:top + s, left:left + s] for view in (image, image[:, ::-1])
             for top, left in places]
    return predict(np.stack(crops)).mean(axis=0)


def rounded_centre(predict, image, crop_size):
    height, width, s = image.shape[0], image.shape[1], crop_size
    places = corners(height, width, s)[:4] + [(height // 2 - s // 2, width // 2 - s // 2)]
    crops = [view[top:top + s, left:left + s] for view in (image, image[:, ::-1])
             for top, left in places]
    return predict(np.stack(crops)).mean(axis=0)


def swapped_axes(predict, image, crop_size):
    height, width, s = image.shape[0], image.shape[1], crop_size
    crops = [view[top:top + s, left:left + s] for view in (image, image[:, ::-1])
             for top, left in corners(width, height, s)]
    return predict(np.stack(crops)).mean(axis=0)


def votes(predict, image, crop_size):
    probabilities = predict(keras.ops.convert_to_numpy(tta.ten_crop(image[None], crop_size)))
    return np.eye(probabilities.shape[1])[probabilities.argmax(axis=1)].mean(axis=0)


@pytest.mark.parametrize("answer", [ten_crop_average, ten_crop_mirroring_each_crop,
                                    ten_crop_with_kerasreg])
def test_check_ten_crop_average_accepts_correct_variants(answer):
    assert check_ten_crop_average(answer) == "ten-crop average: all checks passed"


@pytest.mark.parametrize("wrong, message", [
    (five_crops, "leave out the five crops of the mirrored image"),
    (centre_only, "centre crop's prediction alone"),
    (upside_down, "upside down"),
    (off_by_one, "Off by one"),
    (rounded_centre, r"starts at \(\(H - s\) // 2"),
    (swapped_axes, "rows go with H"),
    (votes, "average the votes"),
    (lambda predict, image, size: 10 * ten_crop_average(predict, image, size),
     "sum the probabilities"),
    (lambda predict, image, size: predict(
        keras.ops.convert_to_numpy(tta.ten_crop(image[None], size))), "forget to average"),
])
def test_check_ten_crop_average_catches_mistakes(wrong, message):
    with pytest.raises(GradingError, match=message):
        check_ten_crop_average(wrong)


def test_check_ten_crop_average_reports_a_stub_as_not_implemented():
    def ten_crop_average(predict, image, crop_size):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="ten_crop_average is not implemented yet"):
        check_ten_crop_average(ten_crop_average)
