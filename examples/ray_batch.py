"""Denoise a folder of scans with Ray (the `ray` extra), locally or on a cluster.

    python examples/ray_batch.py examples/scans out-ray/                 # local, 2 CPUs
    python examples/ray_batch.py /shared/scans /shared/out --address ray://head:10001

On a cluster the input folder must be readable by every node (a shared file
system); outputs are written by the driver, with the same mirrored names,
manifest and resume as `digit-denoise run`.
"""

import argparse
import json

import ray

from digit_denoise.ray import denoise_with_ray


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input_dir")
    parser.add_argument("output_dir")
    parser.add_argument("--address", help="a running cluster, e.g. ray://head:10001; local when omitted")
    parser.add_argument("--model", default="default")
    parser.add_argument("--workers", type=int, help="batches at work at once (the cluster's CPUs by default)")
    args = parser.parse_args()
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=2, include_dashboard=False)
    summary = denoise_with_ray(args.input_dir, args.output_dir, model=args.model, workers=args.workers)
    print(json.dumps({key: summary.to_dict()[key] for key in ("processed", "up_to_date", "failed")}))
    for failure in summary.failures:
        print(f"failed: {failure['path']}: {failure['reason']}")


if __name__ == "__main__":
    main()
