"""Checks of the stochastic depth lab's exercises: the linear survival rule and one block."""

import numpy as np

from kerasreg.course.grading._checks import (GradingError, call as _call,
                                             expect_shape as _expect_shape)

# (number of blocks L, final survival p_L): at p_L = 0.5 the survival and the
# drop probability of the last block coincide, so a second value tells them apart.
RULE_CASES = ((4, 0.5), (10, 0.2))
# Keep probabilities of the block check: p and 1 - p differ at both.
BLOCK_PROBABILITIES = (0.8, 0.3)
BLOCK_CALLS = 400


def _rule_mistakes(num_blocks, final_survival):
    """Plausible wrong answers of the linear rule, with what they got wrong."""
    blocks = np.arange(1, num_blocks + 1)
    correct = 1 - blocks / num_blocks * (1 - final_survival)
    return {
        "Off by one: the blocks are numbered l = 1 ... L, so the first block has "
        "p_1 = 1 - (1 - p_L) / L, not 1, and the last one has p_L.":
            1 - (blocks - 1) / num_blocks * (1 - final_survival),
        "Off by one: with l = 0 ... L - 1 over L - 1 the first block never drops; "
        "the rule numbers the blocks l = 1 ... L and divides by L.":
            1 - (blocks - 1) / max(num_blocks - 1, 1) * (1 - final_survival),
        "Did you use p_L as the last block's drop probability? p_L is its survival "
        "probability: p_l = 1 - l / L (1 - p_L).":
            1 - blocks / num_blocks * final_survival,
        "These are drop probabilities 1 - p_l; the rule gives the survival probabilities.":
            1 - correct,
        "The order is reversed: the first block (next to the input) survives most often.":
            correct[::-1],
        "Every block has p_L: that is the uniform rule; the linear rule decays from "
        "1 at the input to p_L at the last block.":
            np.full(num_blocks, final_survival),
    }


def check_linear_survival(survival):
    """Check `survival(L, p_L)`: the survival probabilities of blocks 1 ... L.

    The linear rule of Huang et al.: block `l` of `L` survives with
    `p_l = 1 - l / L * (1 - p_L)`. Checked at two `(L, p_L)` pairs chosen so
    that an off-by-one block index, `p_L` read as a drop probability and a
    reversed order give different numbers; the message names the mistake.

    Args:
        survival: the student's function, returning `L` floats (a list or
            an array), first block first.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> from kerasreg.layers import linear_survival
    >>> check_linear_survival(linear_survival)
    'linear survival rule: all checks passed'
    """
    for num_blocks, final_survival in RULE_CASES:
        got = np.asarray(_call(survival, num_blocks, final_survival), dtype="float64")
        if got.shape == (num_blocks + 1,):
            raise GradingError(f"survival({num_blocks}, {final_survival}) returned "
                               f"{num_blocks + 1} values: one per block l = 1 ... L, "
                               "without the input (l = 0).")
        _expect_shape(f"survival({num_blocks}, {final_survival})", got.shape, (num_blocks,))
        expected = 1 - np.arange(1, num_blocks + 1) / num_blocks * (1 - final_survival)
        if np.allclose(got, expected, atol=1e-6):
            continue
        where = f"survival({num_blocks}, {final_survival}) = {np.round(got, 3).tolist()}"
        for hint, values in _rule_mistakes(num_blocks, final_survival).items():
            if np.allclose(got, values, atol=1e-6):
                raise GradingError(f"{where}. {hint}")
        block = np.flatnonzero(~np.isclose(got, expected, atol=1e-6))[0]
        raise GradingError(f"{where}: block l = {block + 1} must survive with "
                           f"{expected[block]:.4f}, got {got[block]:.4f} "
                           "(p_l = 1 - l / L (1 - p_L), l = 1 ... L).")
    return "linear survival rule: all checks passed"


def check_stochastic_depth_block(train, predict):
    """Check one stochastic-depth block: `train(x, fx, p, rng)` and `predict(x, fx, p)`.

    `x` is the block's input, `fx` its residual branch's output `f(x)`, `p`
    the survival probability. In training the block is `x + b f(x)` with
    `b ~ Bernoulli(p)`: one draw for the whole batch (Huang et al.) or one
    per example (drop-path) are both accepted, one per unit is not. At test
    time every block runs, re-calibrated: `x + p f(x)`. Checked at two
    values of `p`, so that keep and drop probabilities differ.

    Args:
        train: the student's training-time function.
        predict: the student's test-time function.

    Returns:
        A one-line summary when every check passes.

    Example:
    >>> train = lambda x, fx, p, rng: x + (rng.random() < p) * fx
    >>> check_stochastic_depth_block(train, lambda x, fx, p: x + p * fx)
    'stochastic depth block: all checks passed'
    """
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5))
    fx = rng.uniform(0.5, 1.5, size=(8, 5))  # never 0, so kept and dropped always differ
    for p in BLOCK_PROBABILITIES:
        _check_train(train, x, fx, p)
        _check_predict(predict, x, fx, p)
    return "stochastic depth block: all checks passed"


def _check_train(train, x, fx, p):
    rng = np.random.default_rng(1)
    kept_rows = []
    for _ in range(BLOCK_CALLS):
        out = np.asarray(_call(train, x, fx, p, rng), dtype="float64")
        _expect_shape("train", out.shape, x.shape)
        kept, dropped = np.isclose(out, x + fx), np.isclose(out, x)
        if not (kept | dropped).all():
            _explain_train_values(out, x, fx, p, kept | dropped)
        if not (kept.all(axis=1) | dropped.all(axis=1)).all():
            raise GradingError(
                f"train(x, fx, p={p}): within one example some units kept f(x) and others "
                "dropped it. The whole branch is kept or dropped: draw one b per batch "
                "(or per example), not one per unit.")
        kept_rows.append(kept.all(axis=1))
    fraction = np.mean(kept_rows)
    if abs(fraction - p) > 0.06:  # about 3 standard errors of one draw per call
        hint = (" Did you use p as the drop probability? p is the probability that the "
                "block survives." if abs(fraction - (1 - p)) < 0.06 else "")
        raise GradingError(f"train(x, fx, p={p}) kept the branch in {fraction:.0%} of "
                           f"{BLOCK_CALLS} calls; expected about {p:.0%}.{hint}")


def _explain_train_values(out, x, fx, p, valid):
    index = np.flatnonzero(~valid)[0]
    got = out.flat[index]
    hints = {"Did you divide the kept branch by p? That is the inverted form; here the "
             "training block is x + b f(x) and the test-time block scales by p.":
             (x + fx / p).flat[index],
             "The identity path always runs: a block outputs x + b f(x), not b f(x).":
             fx.flat[index]}
    hint = next((text for text, value in hints.items() if np.isclose(got, value)), "")
    raise GradingError(
        f"train(x, fx, p={p}): each output must be x (block dropped) or x + f(x) (kept); "
        f"at x={x.flat[index]:.3f}, f(x)={fx.flat[index]:.3f} got {got:.3f}. {hint}".rstrip())


def _check_predict(predict, x, fx, p):
    got = np.asarray(_call(predict, x, fx, p), dtype="float64")
    _expect_shape("predict", got.shape, x.shape)
    expected = x + p * fx
    if np.allclose(got, expected, atol=1e-6):
        return
    hints = {"Did you forget to scale the branch by p? At test time every block runs, "
             "re-calibrated: x + p f(x).": x + fx,
             "Did you scale by the drop probability 1 - p? The branch survives with p: "
             "x + p f(x).": x + (1 - p) * fx,
             "Scale only the branch, not the identity: x + p f(x), not p (x + f(x)).":
             p * (x + fx),
             "Dividing by p is the inverted form's training step; at test time this "
             "block is x + p f(x).": x + fx / p}
    hint = next((text for text, value in hints.items() if np.allclose(got, value)), "")
    index = np.abs(got - expected).argmax()
    raise GradingError(
        f"predict(x, fx, p={p}) must be x + p f(x): at x={x.flat[index]:.3f}, "
        f"f(x)={fx.flat[index]:.3f} expected {expected.flat[index]:.3f}, got "
        f"{got.flat[index]:.3f}. {hint}".rstrip())
