"""progress.gif: a run's sample grids as a looping animation, built whole or grown a frame at a time.

Rebuilding the animation from every grid after each epoch made each epoch's
work grow with the run (a 200-epoch celeba64 run spent about 16 minutes
re-encoding it). `GrowingGif` encodes only the new grid and splices it in
before the file's trailer; the file is still rewritten atomically each time,
but copying bytes is cheap where the encoding was not.
"""

import io
import os
import shutil
import warnings

from PIL import Image

from dcgan_keras import rundir

# How much longer the last frame shows, so the loop pauses on the latest grid.
LAST_FRAME_HOLD = 5

_EXTENSION, _IMAGE, _TRAILER = 0x21, 0x2C, 0x3B
_GRAPHIC_CONTROL = 0xF9


def build_gif(frames, path, frame_ms=200):
    """Writes PNG files (or PIL images) as an animated, looping GIF, atomically.

    Args:
        frames: paths of images of one size, or PIL images, in order.
        path: the .gif to write.
        frame_ms: how long each frame shows; the last shows 5x longer, so
            the loop pauses on the latest grid.

    Example:
        >>> build_gif(["samples/epoch_0001.png", "samples/epoch_0002.png"], "progress.gif")  # a run's grids  # doctest: +SKIP
        'progress.gif'
    """
    frames = [_open_frame(f) if isinstance(f, (str, os.PathLike)) else f for f in frames]
    frames = [_paletted(f) for f in frames if f is not None]
    if not frames:
        raise ValueError("build_gif needs at least one frame.")
    durations = [frame_ms] * (len(frames) - 1) + [frame_ms * LAST_FRAME_HOLD]
    with rundir.writing(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


class GrowingGif:
    """An animated GIF that grows by one frame per call, each write atomic.

    `rebuild` writes it from all frames (a run's start or resume); `append`
    then adds one, encoding only that frame: the file so far is copied, not
    re-encoded, and not held in memory. Appended frames are whole frames,
    each with its own palette, as `build_gif` makes them.

    Args:
        path: the .gif file.
        frame_ms: how long each frame shows (the last `LAST_FRAME_HOLD` times longer).

    Example:
        >>> animation = GrowingGif("runs/x/progress.gif")  # doctest: +SKIP
        >>> animation.rebuild(["samples/epoch_0001.png"])  # doctest: +SKIP
        >>> animation.append("samples/epoch_0002.png")  # doctest: +SKIP
        True
    """

    def __init__(self, path, frame_ms=200):
        self.path = os.fspath(path)
        self.frame_ms = frame_ms
        self._written = None  # (size, screen size, where the last frame's delay is) of the file as last written

    def rebuild(self, frames):
        """Writes the GIF from all `frames` (see `build_gif`)."""
        build_gif(frames, self.path, self.frame_ms)
        with open(self.path, "rb") as f:
            data = f.read()
        screen = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
        self._written = len(data), screen, _last_delay_offset(data)

    def append(self, frame):
        """Adds `frame` (a path or a PIL image) as the last frame.

        A damaged frame file is left out with a warning (True: nothing to
        add). Returns False, writing nothing, when the file is not the one
        this object last wrote (never built here, deleted or replaced):
        `rebuild` it then.
        """
        size, screen, delay_at = self._written or (None, None, None)
        if size is None or not os.path.isfile(self.path) or os.path.getsize(self.path) != size:
            return False
        image = _open_frame(frame) if isinstance(frame, (str, os.PathLike)) else frame
        if image is None:
            return True
        if image.size != screen:
            raise ValueError(f"A {image.size[0]}x{image.size[1]} frame cannot join a {screen[0]}x{screen[1]} GIF.")
        block, block_delay_at = _frame_block(_paletted(image), _centiseconds(self.frame_ms * LAST_FRAME_HOLD))
        with rundir.writing(self.path) as tmp:
            shutil.copyfile(self.path, tmp)
            with open(tmp, "r+b") as f:
                if delay_at is not None:  # the frame that was last shows as long as the others now
                    f.seek(delay_at)
                    f.write(_centiseconds(self.frame_ms).to_bytes(2, "little"))
                f.seek(size - 1)  # over the trailer
                f.write(block + bytes([_TRAILER]))
        self._written = size - 1 + len(block) + 1, screen, size - 1 + block_delay_at
        return True


def _open_frame(path):
    # A damaged grid of an earlier epoch leaves a gap in the animation; it
    # must not stop the training that draws the next one.
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (OSError, SyntaxError, ValueError) as err:
        warnings.warn(f"Leaving {path} out of the GIF: it is not a readable image ({err}).")
        return None


def _paletted(image):
    # One palette per frame: GIF holds 256 colors, grids of RGB samples more.
    return image if image.mode in ("L", "P") else image.convert("RGB").quantize(256)


def _centiseconds(ms):
    return max(0, min(0xFFFF, round(ms / 10)))


def _color_table_size(packed):
    return 3 * 2 ** ((packed & 0x07) + 1) if packed & 0x80 else 0


def _after_sub_blocks(data, pos):
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1


def _last_delay_offset(data):
    """Where the last graphic control block's delay sits in a GIF's bytes, or None."""
    pos, last = 13 + _color_table_size(data[10]), None
    while data[pos] != _TRAILER:
        if data[pos] == _EXTENSION:
            if data[pos + 1] == _GRAPHIC_CONTROL:
                last = pos + 4
            pos = _after_sub_blocks(data, pos + 2)
        elif data[pos] == _IMAGE:
            pos += 10 + _color_table_size(data[pos + 9])
            pos = _after_sub_blocks(data, pos + 1)  # after the LZW code size
        else:
            raise ValueError(f"Not a GIF block at byte {pos}: {data[pos]:#x}.")
    return last


def _frame_block(image, delay):
    """One paletted image as GIF frame bytes (graphic control, descriptor, local palette, data), and the delay's offset."""
    buffer = io.BytesIO()
    image.save(buffer, format="GIF")
    data = buffer.getvalue()
    palette = data[13:13 + _color_table_size(data[10])]
    pos = 13 + len(palette)
    while data[pos] == _EXTENSION:  # Pillow's own control block, if any: ours replaces it
        pos = _after_sub_blocks(data, pos + 2)
    descriptor = bytearray(data[pos:pos + 10])
    pos += 10
    local = _color_table_size(descriptor[9])
    if local:
        palette, pos = data[pos:pos + local], pos + local
    else:  # the file's global palette becomes the frame's own
        descriptor[9] = (descriptor[9] & 0x40) | 0x80 | (data[10] & 0x07)
    pixels = data[pos:_after_sub_blocks(data, pos + 1)]
    # Disposal 1 (leave the frame: the next one covers the whole screen), no transparency.
    control = bytes([_EXTENSION, _GRAPHIC_CONTROL, 4, 0x04]) + delay.to_bytes(2, "little") + bytes([0, 0])
    return control + bytes(descriptor) + palette + pixels, 4
