"""The one error type (and warning type) the data package raises."""

import os
import warnings


class DataError(ValueError):
    """A data set could not be loaded: the message names the file or value and the fix.

    A subclass of ``ValueError`` so callers that validate arguments generically
    still catch it.

    Example:
        >>> from dcgan_keras.data import load_dataset
        >>> try:
        ...     load_dataset("mnits")
        ... except DataError as err:
        ...     print(err)
        Unknown data set 'mnits'; known: ... Did you mean 'mnist'?
    """


class DataWarning(UserWarning):
    """Something was skipped or degraded while loading, but the data set is usable.

    Unreadable image files and cache trouble (an unreadable or unwritable
    cache) warn with it; a filter turns them into errors for a strict load.

    Example:
        >>> import warnings
        >>> warnings.simplefilter("error", DataWarning)
    """


def warn_skipped(skipped, total, where, example):
    """Warns once about unreadable files, with a count and one example.

    One warning per load rather than one per file: a scraped folder can hold
    thousands of broken files and per-file warnings would bury the log.

    Args:
        skipped: how many files were skipped (nothing is said if 0).
        total: how many files were tried.
        where: the directory they came from.
        example: "path: reason" for one of them.
    """
    if not skipped:
        return
    warnings.warn(
        f"Skipped {skipped} of {total} image files under {os.fspath(where)} "
        f"that could not be read, e.g. {example}",
        DataWarning,
        stacklevel=3,
    )
