"""Scale-out on Ray: the same run as ``digit-denoise run``, with Ray tasks doing the pixels.

Needs the ``ray`` extra (``pip install 'digit-denoise[ray]'``). Locally,
``ray.init(num_cpus=2)``; on a cluster, ``ray.init(address="ray://head:10001")``
before calling :func:`denoise_with_ray`. The driver plans, writes and records
exactly as :func:`digit_denoise.denoise_folder` does (manifest, lock, resume,
``max_failures``, report); each batch is a Ray task that reads its files,
denoises them and returns the encoded outputs, so the input folder must be
readable by every node and the output folder is written by the driver.
"""

from concurrent.futures import Executor

from .batch import denoise_files
from .denoiser import limit_threads
from .runner import RunSummary, denoise_folder


class RayExecutor(Executor):
    """A ``concurrent.futures`` executor that runs each batch as a Ray task of one CPU."""

    def __init__(self):
        import ray

        self._task = ray.remote(num_cpus=1)(_denoise_files_in_a_ray_worker)

    def submit(self, fn, /, *args, **kwargs):
        if fn is not denoise_files:
            raise TypeError("RayExecutor runs batch.denoise_files only")
        return self._task.remote(*args, **kwargs).future()


def _denoise_files_in_a_ray_worker(*args, **kwargs):
    limit_threads(1)  # one model thread per task of one CPU; only the first call in a worker process counts
    return denoise_files(*args, **kwargs)


def denoise_with_ray(input_dir, output_dir, *, config=None, dry_run=False, stop=None, on_progress=None,
                     **settings) -> RunSummary:
    """Denoise a folder of scans on Ray, writing the same mirrored tree as ``digit-denoise run``.

    Takes the arguments of :func:`digit_denoise.denoise_folder` and returns
    its :class:`~digit_denoise.RunSummary`; a second call with the same
    settings processes nothing. ``workers`` (batches at work at once) defaults
    to the cluster's CPU count.
    """
    import ray

    if not settings.get("workers"):
        settings["workers"] = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return denoise_folder(input_dir, output_dir, config=config, executor=RayExecutor(), dry_run=dry_run, stop=stop,
                          on_progress=on_progress, **settings)


__all__ = ["RayExecutor", "denoise_with_ray"]
