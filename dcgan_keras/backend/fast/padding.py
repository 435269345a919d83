"""Padding arithmetic shared by the backends' fast layers (no framework imports)."""


def same_padding(size, kernel, stride):
    """(before, after) padding of TensorFlow's "same" convolution (Keras's, lax's "SAME").

    The output is ceil(size / stride) wide; an odd pixel of padding goes after.

    Args:
        size: the input's height or width.
        kernel: the kernel's size along it.
        stride: the stride along it.

    Example:
        >>> same_padding(28, 5, 2)
        (1, 2)
    """
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2
