"""What train.py and sample.py share about talking to a user on a terminal."""

import os
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def warnings_as_lines():
    """Shows this package's warnings as one `warning: ...` line, as errors show `error: ...`.

    Python's default names the file and line that warned and repeats it,
    which tells a user of the command line nothing; other packages'
    warnings keep that form, where the location helps whoever reports them.

    Example:
        >>> warnings_as_lines()  # doctest: +SKIP
    """
    default = warnings.formatwarning

    def format_warning(message, category, filename, lineno, line=None):
        if os.path.abspath(filename).startswith(_PACKAGE + os.sep):
            return f"warning: {message}\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = format_warning


def out_of_memory(err):
    """Whether `err` is running out of memory, as any backend says it.

    MemoryError (NumPy), torch's OutOfMemoryError or CPU allocator message,
    XLA's RESOURCE_EXHAUSTED.

    Example:
        >>> out_of_memory(MemoryError())
        True
    """
    text = str(err)
    return (
        isinstance(err, MemoryError)
        or type(err).__name__ in ("OutOfMemoryError", "ResourceExhaustedError")
        or "RESOURCE_EXHAUSTED" in text
        or "can't allocate memory" in text
    )


def first_line(error):
    """An error's message in one line: its first (Keras and TensorFlow append whole arrays), or its type.

    Example:
        >>> first_line(ValueError("shape mismatch\\nvalue=[[0.1, ...]]"))
        'shape mismatch'
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
