import numpy as np

from kerasreg._crops import random_squares


def test_squares_are_slices_of_the_image_at_every_reachable_position():
    image = np.arange(5 * 6, dtype="int16").reshape(5, 6)
    squares = random_squares(image, 3, 400, np.random.default_rng(0))
    assert squares.shape == (400, 3, 3) and squares.dtype == np.int16
    corners = {(int(square[0, 0]) // 6, int(square[0, 0]) % 6) for square in squares}
    assert corners == {(row, column) for row in range(3) for column in range(4)}
    for square in squares:
        top, left = divmod(int(square[0, 0]), 6)
        np.testing.assert_array_equal(square, image[top:top + 3, left:left + 3])


def test_the_same_generator_state_gives_the_same_squares():
    image = np.random.default_rng(1).random((8, 8, 3))
    first, second = (random_squares(image, 4, 5, np.random.default_rng(7)) for _ in range(2))
    np.testing.assert_array_equal(first, second)
