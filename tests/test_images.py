"""Image helpers: tiling generated images into one picture."""

import numpy as np

from dcgan_keras.images import make_grid


def test_make_grid_lays_tiles_out_row_by_row_with_padding_between():
    # Else a saved sample grid shows images in another order than generate() returned them.
    images = np.stack([np.full((2, 3, 1), i, "uint8") for i in range(6)])  # image i is all i
    grid = make_grid(images, cols=3, padding=1, pad_value=255)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1, 1) and grid.dtype == np.uint8
    for i in range(6):
        row, col = divmod(i, 3)  # row 0: images 0, 1, 2; row 1: images 3, 4, 5
        top, left = 1 + row * 3, 1 + col * 4
        assert (grid[top : top + 2, left : left + 3] == i).all(), (row, col)
    padding = np.ones(grid.shape, bool)
    padding[1:3, 1:4] = padding[1:3, 5:8] = padding[1:3, 9:12] = False
    padding[4:6, 1:4] = padding[4:6, 5:8] = padding[4:6, 9:12] = False
    assert (grid[padding] == 255).all()
    # The defaults: padding 2 of value 0, and as many columns as the smallest square holding N (3 for 6).
    grid = make_grid(images + 1)
    assert grid.shape == (2 * 4 + 2, 3 * 5 + 2, 1)
    assert grid[2, 2 + 5, 0] == 2 and grid[2 + 4, 2, 0] == 4 and grid[0, 0, 0] == 0 and grid[-1, -1, 0] == 0
