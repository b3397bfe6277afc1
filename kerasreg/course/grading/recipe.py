"""Check of the hyperparameter lab's exercise: step 1 of the recipe, the initial loss vs log C."""

import math

import numpy as np

from kerasreg.course.grading._checks import GradingError, call as _call


def _cases():
    """Softmax outputs of two untrained-looking classifiers (C = 10 and C = 3).

    Labels leave the last class out, so `C` read from the labels is wrong,
    and the predictions are not uniform, so the label's probability and
    the largest one differ.
    """
    rng = np.random.default_rng(0)
    cases = []
    for classes, examples in ((10, 50), (3, 8)):
        logits = rng.normal(0.0, 0.3, size=(examples, classes))
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        labels = rng.integers(0, classes - 1, size=examples)
        cases.append((probabilities, labels))
    return cases


def check_initial_loss_exercise(initial_loss):
    """Check `initial_loss(probabilities, labels)` -> `(measured, expected)`.

    `measured` is the mean cross-entropy `-ln p[label]` over the examples,
    `expected` is `ln C` with `C` the number of classes (the columns of
    `probabilities`): the loss of a softmax that guesses uniformly. Natural
    logarithms, as Keras' cross-entropy. Checked with `C = 10` and `C = 3`.

    Args:
        initial_loss: the student's function; `probabilities` is `(N, C)`,
            `labels` holds `N` integer classes.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> def initial_loss(probabilities, labels):
    ...     picked = probabilities[np.arange(len(labels)), labels]
    ...     return -np.log(picked).mean(), np.log(probabilities.shape[1])
    >>> check_initial_loss_exercise(initial_loss)
    'initial loss: all checks passed'
    """
    for probabilities, labels in _cases():
        classes = probabilities.shape[1]
        answer = _call(initial_loss, probabilities, labels)
        try:
            measured, expected = (float(np.asarray(value)) for value in answer)
        except (TypeError, ValueError):
            raise GradingError("initial_loss(probabilities, labels) must return two numbers "
                               f"(measured, expected); got {answer!r}.") from None
        picked = probabilities[np.arange(len(labels)), labels]
        right_measured = float(-np.log(picked).mean())
        where = f"initial_loss(probabilities of shape {probabilities.shape}, labels)"
        if not math.isclose(expected, math.log(classes), rel_tol=1e-5):
            wrong = {"Did you use log10? Cross-entropy uses the natural logarithm, ln C.":
                     math.log10(classes),
                     "Did you use log2? Keras' cross-entropy uses ln C.": math.log2(classes),
                     "1 / C is the uniform probability; the loss is -ln(1 / C) = ln C.":
                     1 / classes,
                     "Did you read C from the labels? Some classes may be missing from a "
                     "sample: C is the number of output columns.": math.log(labels.max() + 1),
                     "The expected loss is -ln(1 / C) = +ln C.": -math.log(classes)}
            raise GradingError(f"{where} returned expected = {expected:.4f}; the loss of a "
                               f"uniform guess over C = {classes} classes is ln C = "
                               f"{math.log(classes):.4f}.{_hint(expected, wrong)}")
        if not math.isclose(measured, right_measured, rel_tol=1e-4):
            wrong = {"Did you use log10? Cross-entropy uses the natural logarithm.":
                     float(-np.log10(picked).mean()),
                     "Did you sum over the examples? The loss is their mean.":
                     float(-np.log(picked).sum()),
                     "Did you take the largest probability? Use the probability of each "
                     "example's label.": float(-np.log(probabilities.max(axis=1)).mean()),
                     "Did you average -ln p over every class? Only the label's probability "
                     "counts.": float(-np.log(probabilities).mean()),
                     "Did you forget the minus sign?": -right_measured}
            raise GradingError(f"{where} returned measured = {measured:.4f}; the mean "
                               f"cross-entropy -ln p[label] is {right_measured:.4f}."
                               f"{_hint(measured, wrong)}")
    return "initial loss: all checks passed"


def _hint(value, mistakes):
    return next((f" {mistake}" for mistake, wrong in mistakes.items()
                 if math.isclose(value, wrong, rel_tol=1e-4)), "")
