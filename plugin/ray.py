"""Scale-out on Ray Data: the same adapter and model, one copy of the model per worker.

Needs the ``ray`` extra (``pip install 'digit-denoise[ray]'``). Locally,
``ray.init(num_cpus=2)``; on a cluster, ``ray.init(address="ray://head:10001")``
before calling :func:`denoise_with_ray`.
"""

import io
import os
from pathlib import Path

import numpy as np

from .adapter import ScanAdapter
from .config import make_settings
from .denoiser import load_denoiser
from .errors import DigitDenoiseError
from .runner import output_path, output_suffix
from .files import replace_atomically
from .scans import IMAGE_SUFFIXES, encode_image


class DenoiseBatch:
    """A callable class for ``ray.data.Dataset.map_batches`` over ``read_binary_files(..., include_paths=True)``.

    Each Ray actor loads the model once. A batch of ``{"path", "bytes"}`` rows
    becomes ``{"path", "output", "error"}`` rows: ``output`` is the encoded
    result (empty on failure), ``error`` the reason a file failed (empty on
    success). Settings are those of :class:`digit_denoise.Settings`.
    """

    def __init__(self, **settings):
        self.settings = make_settings(**settings)
        self.adapter = ScanAdapter.from_settings(self.settings)
        self.denoiser = load_denoiser(self.settings.model)

    def __call__(self, batch):
        paths = [str(path) for path in batch["path"]]
        outputs, errors, ready = [b""] * len(paths), [""] * len(paths), []
        for index, (path, data) in enumerate(zip(paths, batch["bytes"])):
            stream = io.BytesIO(data)
            stream.name = path
            try:
                ready.append((index, *self.adapter.read(stream, max_pixels=self.settings.max_pixels)))
            except DigitDenoiseError as error:
                errors[index] = str(error)
        if ready:
            results = self.denoiser.denoise(np.stack([digit for _, digit, _ in ready]))
            for (index, _, frame), result in zip(ready, results):
                outputs[index] = encode_image(self.adapter.after(result, frame), output_suffix(paths[index], self.settings.format))
        return {"path": np.array(paths, dtype=object), "output": np.array(outputs, dtype=object),
                "error": np.array(errors, dtype=object)}


def denoise_with_ray(input_uri, output_uri, *, concurrency=None, **settings):
    """Denoise a folder of scans with Ray Data, writing the same mirrored tree as ``digit-denoise run``.

    Parameters
    ----------
    input_uri : str or Path
        A local folder (or a path every Ray node can read, for a cluster).
    output_uri : str or Path
        A local folder on the driver; outputs are written there atomically.
    concurrency : int, optional
        How many model actors; Ray's default when omitted.
    **settings
        Any field of :class:`digit_denoise.Settings` (model, framing, size, format, ...).

    Returns
    -------
    dict
        ``{"processed": int, "failed": int, "failures": [{"path", "reason"}]}``.
    """
    import ray

    settings = make_settings(**settings)
    input_dir, output_dir = Path(input_uri), Path(output_uri)
    dataset = ray.data.read_binary_files(
        str(input_dir), include_paths=True, file_extensions=sorted(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES)
    )
    results = dataset.map_batches(
        DenoiseBatch, fn_constructor_kwargs=settings.to_dict(), batch_size=settings.batch_size,
        concurrency=concurrency or max(1, (os.cpu_count() or 2) // 2), batch_format="numpy",
    )
    summary = {"processed": 0, "failed": 0, "failures": []}
    root = input_dir.resolve()
    for batch in results.iter_batches(batch_size=settings.batch_size, batch_format="numpy"):
        for path, output, error in zip(batch["path"], batch["output"], batch["error"]):
            if error:
                summary["failed"] += 1
                summary["failures"].append({"path": path, "reason": error})
                continue
            target = output_path(Path(path).resolve(), root, output_dir, settings.format)
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(target, lambda tmp, data=output: tmp.write_bytes(data))
            summary["processed"] += 1
    return summary


__all__ = ["DenoiseBatch", "denoise_with_ray"]
