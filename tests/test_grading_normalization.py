import keras
import numpy as np
import pytest

from kerasreg.course.grading import GradingError, check_batch_norm


def axes_of(x):
    return tuple(range(x.ndim - 1))


def normalize(x, gamma, beta, mean, var, epsilon):
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
    mean, var = x.mean(axis=axes_of(x)), x.var(axis=axes_of(x))
    return (normalize(x, gamma, beta, mean, var, epsilon),
            momentum * moving_mean + (1 - momentum) * mean,
            momentum * moving_var + (1 - momentum) * var)


def predict(x, gamma, beta, moving_mean, moving_var, epsilon):
    return normalize(x, gamma, beta, moving_mean, moving_var, epsilon)


def in_place_train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
    mean, var = x.mean(axis=axes_of(x)), x.var(axis=axes_of(x))
    x -= mean
    x /= np.sqrt(var + epsilon)
    x *= gamma
    x += beta
    moving_mean *= momentum
    moving_mean += (1 - momentum) * mean
    moving_var *= momentum
    moving_var += (1 - momentum) * var
    return x, moving_mean, moving_var


def pytorch_style_train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
    # PyTorch updates the running variance with the unbiased batch variance.
    flat = x.reshape(-1, x.shape[-1])
    mean, var = flat.mean(axis=0), flat.var(axis=0)
    y = normalize(flat, gamma, beta, mean, var, epsilon).reshape(x.shape)
    unbiased = flat.var(axis=0, ddof=1)
    return y, momentum * moving_mean + (1 - momentum) * mean, \
        momentum * moving_var + (1 - momentum) * unbiased


def keras_layer(gamma, beta, moving_mean, moving_var, epsilon, momentum=0.99, shape=None):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build(shape)
    for variable, value in zip((layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance),
                               (gamma, beta, moving_mean, moving_var)):
        variable.assign(value.astype("float32"))
    return layer


def keras_train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
    layer = keras_layer(gamma, beta, moving_mean, moving_var, epsilon, momentum, x.shape)
    y = layer(x.astype("float32"), training=True)
    return tuple(keras.ops.convert_to_numpy(value)
                 for value in (y, layer.moving_mean, layer.moving_variance))


def keras_predict(x, gamma, beta, moving_mean, moving_var, epsilon):
    layer = keras_layer(gamma, beta, moving_mean, moving_var, epsilon, shape=x.shape)
    return keras.ops.convert_to_numpy(layer(x.astype("float32"), training=False))


@pytest.mark.parametrize("train_answer, predict_answer", [
    (train, predict), (in_place_train, predict), (pytorch_style_train, predict),
    (keras_train, keras_predict)])
def test_check_batch_norm_accepts_correct_answers(train_answer, predict_answer):
    assert check_batch_norm(train_answer, predict_answer) == "batch norm: all checks passed"


def with_statistics(statistics):
    """A training function normalizing with `statistics(x) -> (mean, var)`."""
    def wrong(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
        mean, var = statistics(x)
        return (normalize(x, gamma, beta, mean, var, epsilon),) + \
            train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon)[1:]
    return wrong


def with_output(output):
    def wrong(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
        mean, var = x.mean(axis=axes_of(x)), x.var(axis=axes_of(x))
        return (output(x, gamma, beta, mean, var, epsilon),) + \
            train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon)[1:]
    return wrong


def with_update(update):
    def wrong(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
        y, _, _ = train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon)
        mean, var = x.mean(axis=axes_of(x)), x.var(axis=axes_of(x))
        return y, update(moving_mean, mean, momentum), update(moving_var, var, momentum)
    return wrong


@pytest.mark.parametrize("wrong_train, message", [
    (lambda x, g, b, mm, mv, m, e: (normalize(x, g, b, mm, mv, e), mm, mv),
     "Did you normalize with the moving averages"),
    (with_output(lambda x, g, b, mean, var, e: g * (x - mean) / (np.sqrt(var) + e) + b),
     "epsilon goes inside the square root"),
    (with_output(lambda x, g, b, mean, var, e: normalize(x, g, b, mean, var, 0)),
     "Did you forget epsilon"),
    (with_output(lambda x, g, b, mean, var, e: g * (x - mean) / (var + e) + b),
     "not by the variance"),
    (with_output(lambda x, g, b, mean, var, e: normalize(x, b, g, mean, var, e)),
     "Scale then shift"),
    (with_statistics(lambda x: (x.mean(axis=tuple(range(1, x.ndim)), keepdims=True),
                                x.var(axis=tuple(range(1, x.ndim)), keepdims=True))),
     r"Wrong axes \(layer norm"),
    (with_statistics(lambda x: (x.mean(axis=0), x.var(axis=0))), r"Wrong axes \(per position"),
    (with_statistics(lambda x: (x.mean(axis=axes_of(x)), x.var(axis=axes_of(x), ddof=1))),
     "not m - 1"),
    (with_update(lambda old, batch, m: (1 - m) * old + m * batch), "Did you swap momentum"),
    (with_update(lambda old, batch, m: old), "must be updated in training"),
    (with_update(lambda old, batch, m: batch), "That is the batch's statistic alone"),
    (lambda *arguments: train(*arguments)[0], "must return three values"),
])
def test_check_batch_norm_names_training_mistakes(wrong_train, message):
    with pytest.raises(GradingError, match=message):
        check_batch_norm(wrong_train, predict)


def test_check_batch_norm_catches_instance_norm_on_feature_maps():
    def instance(x):
        axes = (1, 2) if x.ndim == 4 else axes_of(x)
        return x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)

    with pytest.raises(GradingError, match=r"shape \(4, 3, 3, 6\).*Wrong axes \(instance norm"):
        check_batch_norm(with_statistics(instance), predict)


@pytest.mark.parametrize("wrong_predict, message", [
    (lambda x, g, b, mm, mv, e: normalize(x, g, b, x.mean(axis=axes_of(x)),
                                          x.var(axis=axes_of(x)), e),
     "Did you normalize with the test batch's own statistics"),
    (lambda x, g, b, mm, mv, e: g * (x - mm) / (np.sqrt(mv) + e) + b,
     "epsilon goes inside the square root"),
    (lambda x, g, b, mm, mv, e: g * (x - mm) / (mv + e) + b, "not by the variance"),
    (lambda x, g, b, mm, mv, e: x, r"predict on x of shape \(16, 6\), epsilon=0.001: at index"),
])
def test_check_batch_norm_names_test_time_mistakes(wrong_predict, message):
    with pytest.raises(GradingError, match=message):
        check_batch_norm(train, wrong_predict)


def test_check_batch_norm_catches_swapped_momentum_only_away_from_one_half():
    swapped = with_update(lambda old, batch, m: (1 - m) * old + m * batch)
    with pytest.raises(GradingError, match="momentum=0.99"):
        check_batch_norm(swapped, predict)


def test_check_batch_norm_reports_a_stub_as_not_implemented():
    def batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="batch_norm_train is not implemented yet"):
        check_batch_norm(batch_norm_train, predict)
