"""The label check: which classes a transform maps into each other (the lecture's 6/9 warning).

`label_preservation(images, labels, transform)` classifies the transformed
images with a classifier of the originals (by default the nearest class
mean) and reports which classes the transform swaps.
"""

import dataclasses
import warnings

import numpy as np
from keras import ops
from sklearn.metrics import confusion_matrix
from sklearn.neighbors import NearestCentroid

from kerasreg._validation import fail, fail_shape
from kerasreg.augment.mixing import check_class_indices


@dataclasses.dataclass
class LabelPreservation:
    """Where a transform sends each class, as seen by a classifier of the originals.

    Attributes:
        matrix: `(C, C)` array indexed by class (C: the largest class seen,
            plus one); row `a` is the distribution of predicted classes of
            the transformed images of class `a`, zero for an absent class.
        accuracy: the classifier's accuracy on the untransformed images.
        preserved: classes whose transformed images are still mostly
            predicted as themselves.
        mapped: `{a: b}` for the other classes: the class `b != a` their
            transformed images are most often predicted as.
        swapped: pairs `(a, b)`, `a < b`, that the transform maps into each
            other (`mapped[a] == b` and `mapped[b] == a`): the transform does
            not preserve these labels.
    """

    matrix: np.ndarray
    accuracy: float
    preserved: list
    mapped: dict
    swapped: list

    def __str__(self):
        lines = [f"classifier accuracy on the originals: {self.accuracy:.2f}",
                 f"preserved: {self.preserved}"]
        lines += [f"{a} -> {b} ({self.matrix[a, b]:.0%})" for a, b in self.mapped.items()]
        lines.append(f"mapped into each other: {self.swapped}")
        return "\n".join(lines)


def label_preservation(images, labels, transform, predict=None):
    """Which classes a transform maps into each other (is it label preserving?).

    The lecture warns that an augmentation must preserve the label: a
    180-degree rotation turns a '6' into a '9' (and 'b' into 'q'). This
    check transforms every image, classifies the results with a classifier
    of the untransformed images, and reports where each class lands. By
    default the classifier is the nearest class mean of the untransformed
    `images` over the classes present in `labels` (no training needed; the
    labels may have gaps, e.g. digits 6 and 9 only); pass `predict` to use
    your own model.

    Args:
        images: `(N, ...)` images (or any feature arrays).
        labels: `(N,)` integer classes.
        transform: callable mapping a batch of images to transformed images
            (e.g. `lambda x: np.rot90(x, 2, axes=(1, 2))`, or a Keras layer).
        predict: callable mapping images to class scores `(N, C)` or class
            indices `(N,)`. Defaults to the nearest class mean.

    Returns:
        A `LabelPreservation`.

    Example:
    >>> from kerasreg.course.datasets import load_digits
    >>> (x, y), _ = load_digits()
    >>> check = label_preservation(x, y, lambda images: np.rot90(images, 2, axes=(1, 2)))
    >>> check.swapped
    [(6, 9)]
    >>> 0 in check.preserved and 8 in check.preserved
    True
    """
    if not callable(transform):
        fail("transform", "a callable mapping a batch of images to transformed images",
             transform)
    images = np.asarray(images, "float32")
    labels = np.asarray(labels).ravel()
    if len(images) != len(labels) or len(images) == 0:
        fail_shape("labels", f"an array of one integer class per image ({len(images)} images)",
                   labels.shape)
    if not np.isfinite(images).all():
        fail("images", "finite numbers", "an array holding NaN or inf")
    check_class_indices(labels, np.inf)
    labels = labels.astype("int64")
    predict = predict or _nearest_class_mean(images, labels)
    accuracy = float(np.mean(_classes(predict(images)) == labels))
    predicted = _classes(predict(np.asarray(ops.convert_to_numpy(transform(images)))))
    # Indexed by class: rows of classes absent from `labels` stay zero.
    num_classes = int(max(labels.max(), predicted.max())) + 1
    matrix = confusion_matrix(labels, predicted, labels=np.arange(num_classes), normalize="true")
    present = np.unique(labels).tolist()
    target = {a: int(matrix[a].argmax()) for a in present}
    mapped = {a: b for a, b in target.items() if b != a}
    return LabelPreservation(
        matrix=matrix, accuracy=accuracy,
        preserved=[a for a in present if target[a] == a], mapped=mapped,
        swapped=[(a, b) for a, b in mapped.items() if a < b and mapped.get(b) == a])


def _nearest_class_mean(images, labels):
    """scikit-learn's nearest-centroid classifier over the classes present in `labels`."""
    with warnings.catch_warnings():  # pixels constant within a class (e.g. a black border)
        warnings.filterwarnings("ignore", "self.within_class_std_dev_", UserWarning)
        classifier = NearestCentroid().fit(images.reshape(len(images), -1), labels)
    return lambda batch: classifier.predict(np.asarray(batch, "float32").reshape(len(batch), -1))


def _classes(predictions):
    predictions = np.asarray(ops.convert_to_numpy(predictions))
    return predictions.argmax(axis=-1) if predictions.ndim == 2 else predictions.astype(int)
