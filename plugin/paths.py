"""Path rules: which files under an input folder are scans, and where each one's output goes.

Shared by runs, previews and anything else that walks an input folder, so a
file is skipped, or an output named, for the same reason everywhere.
"""

import os
from pathlib import Path

from .scans import is_image_name


def discover(input_dir, output_dir=None, *, recursive=True, follow_symlinks=False, on_skip=None, on_error=None):
    """Yield image files under ``input_dir`` in sorted order, lazily.

    The output folder is left out when it lies inside the input folder. What
    is not yielded is reported: hidden files and folders, files that are not
    images, symlinks that lead out of ``input_dir`` (unless
    ``follow_symlinks``), and symlinks back into a folder already walked go
    to ``on_skip(path, reason)``; folders that cannot be listed go to
    ``on_error(path, reason)``.
    """
    root = Path(input_dir).resolve()
    output_dir = Path(output_dir).resolve() if output_dir is not None else None
    walked = set()  # (device, inode) of every folder walked: with follow_symlinks, a loop is walked once

    def report(callback, path, reason):
        if callback:
            callback(path, reason)

    def identity(path):
        info = os.stat(path)
        return info.st_dev, info.st_ino

    def descend(folder):
        if not recursive:
            return False
        real = folder.resolve()
        if real == output_dir:
            return False
        if folder.name.startswith("."):
            report(on_skip, folder, "a hidden folder (its name starts with '.')")
            return False
        if folder.is_symlink() and not (follow_symlinks or real.is_relative_to(root)):
            report(on_skip, folder, "a symlink leading out of the input folder (see follow_symlinks)")
            return False
        if follow_symlinks:
            try:
                key = identity(folder)
            except OSError as error:
                report(on_error, folder, f"cannot open the folder ({error.strerror}); make it readable")
                return False
            if key in walked:
                report(on_skip, folder, "a symlink to a folder already walked (a loop); not walked again")
                return False
            walked.add(key)
        return True

    def unreadable(error):
        report(on_error, Path(error.filename), f"cannot list the folder ({error.strerror}); make it readable")

    if follow_symlinks:
        walked.add(identity(input_dir))
    for folder, subfolders, names in os.walk(input_dir, followlinks=follow_symlinks, onerror=unreadable):
        subfolders[:] = [name for name in sorted(subfolders) if descend(Path(folder) / name)]
        for name in sorted(names):
            path = Path(folder) / name
            if name.startswith("."):
                report(on_skip, path, "a hidden file (its name starts with '.')")
            elif not is_image_name(path):
                report(on_skip, path, "not an image (by its suffix)")
            elif not follow_symlinks and path.is_symlink() and not path.resolve().is_relative_to(root):
                report(on_skip, path, "a symlink leading out of the input folder (see follow_symlinks)")
            else:
                yield path


def output_path(source, input_dir, output_dir, output_format):
    """Where the result for ``source`` goes: the same relative path, with ``output_suffix``."""
    return Path(output_dir) / Path(source).relative_to(input_dir).with_suffix(output_suffix(source, output_format))


def output_suffix(source, output_format):
    """The suffix of ``source``'s result: ``.png``, or with format 'same' the source's own."""
    return ".png" if output_format == "png" else Path(source).suffix
