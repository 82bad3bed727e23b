"""Path rules: which files under an input folder are scans, and where each one's output goes.

Shared by runs, previews and anything else that walks an input folder, so a
file is skipped, or an output named, for the same reason everywhere.
"""

import os
from pathlib import Path, PurePosixPath

from .scans import is_image_name, writable_suffix


def scans_in(inputs, output_dir=None, *, recursive=True, follow_symlinks=False, include=(), exclude=(),
             on_skip=None, on_error=None):
    """Yield ``(scan, base)`` for the image files of ``inputs`` (files and folders), lazily; a scan's output
    mirrors its path relative to ``base``: the folder it was found in, or a given file's own folder.

    Folders are walked by :func:`discover`. ``include`` and ``exclude`` are glob patterns matched against the
    path relative to ``base`` from the right, as ``PurePath.match`` does (``*.png``, ``drafts/*``): with
    ``include``, a scan must match one; one that matches an ``exclude`` pattern is skipped.
    """
    for given in map(Path, inputs):
        if given.is_dir():
            base, found = given, discover(given, output_dir, recursive=recursive, follow_symlinks=follow_symlinks,
                                          on_skip=on_skip, on_error=on_error)
        elif not is_image_name(given):
            if on_skip:
                on_skip(given, "not an image (by its suffix)")
            continue
        else:
            base, found = given.parent, [given]
        for scan in found:
            if include or exclude:
                relative = PurePosixPath(scan.relative_to(base).as_posix())
                if include and not any(relative.match(pattern) for pattern in include):
                    continue  # not counted: what --include leaves out was never asked for
                rule = next((pattern for pattern in exclude if relative.match(pattern)), None)
                if rule is not None:
                    if on_skip:
                        on_skip(scan, f"excluded by {rule!r}")
                    continue
            yield scan, base


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
        folder = Path(folder)
        subfolders[:] = [name for name in sorted(subfolders) if descend(folder / name)]
        for name in sorted(names):
            path = folder / name
            if name.startswith("."):
                report(on_skip, path, "a hidden file (its name starts with '.')")
            elif not is_image_name(name):
                report(on_skip, path, "not an image (by its suffix)")
            elif not follow_symlinks and path.is_symlink() and not path.resolve().is_relative_to(root):
                report(on_skip, path, "a symlink leading out of the input folder (see follow_symlinks)")
            else:
                yield path


def output_path(source, input_dir, output_format):
    """Where the result for ``source`` goes, relative to the output folder: its path relative to ``input_dir``,
    with ``output_suffix``."""
    return source.relative_to(input_dir).with_suffix(output_suffix(source, output_format))


def output_suffix(source, output_format):
    """The suffix of ``source``'s result: ``.png``, or with format 'same' the source's own when it can be
    written (else ``.png``)."""
    return ".png" if output_format == "png" else writable_suffix(Path(source).suffix)
