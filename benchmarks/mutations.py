"""Mutation check: apply small, realistic bugs one at a time and see that the tests catch each on purpose.

Each mutation replaces one exact piece of source with a bug, runs only the tests that should catch
it, and restores the file (also on Ctrl-C). A mutation whose text is no longer in the source is
reported as STALE: update the list when the code moves. Add a line for every guard you write.

    python benchmarks/mutations.py            # all of them (several minutes)
    python benchmarks/mutations.py -k manifest  # those whose name holds 'manifest'

Prints one line per mutation and a count; exits 1 when a bug went unnoticed or a mutation is stale.
"""

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (name, file, the source as it is, the bug, test file, pytest -k expression)
MUTATIONS = [
    ("max_pixels check deleted", "plugin/scans.py", "if width * height > max_pixels:", "if False:",
     "tests/test_hostile_inputs.py", "max_pixels_is_checked"),
    ("an output's flag not recorded", "plugin/runner.py", "job.flag = reason", "pass",
     "tests/test_real_scans.py", "stays_flagged"),
    ("an up-to-date flagged output not listed again", "plugin/runner.py", "if flag:  # listed again", "if False:",
     "tests/test_real_scans.py", "stays_flagged"),
    ("strict passes an up-to-date flagged output", "plugin/runner.py", "if flag and self.settings.strict:",
     "if False:", "tests/test_real_scans.py", "stays_flagged"),
    ("an output replaces a scan in an output folder among the inputs", "plugin/runner.py",
     "self.manifest.knows(relative)) and self._among_inputs", "self.manifest.knows(relative)) and False",
     "tests/test_hostile_inputs.py", "never_replaces"),
    ("a manifest of schema 2 dropped, not brought up to date", "plugin/manifest.py", "if version == 2:", "if False:",
     "tests/test_hostile_inputs.py", "version_before"),
    ("a dry run ignores a manifest of schema 2", "plugin/manifest.py", "if version not in (2, SCHEMA_VERSION):",
     "if version != SCHEMA_VERSION:", "tests/test_hostile_inputs.py", "version_before"),
    ("a round speck passes for a part of the digit", "plugin/analysis.py",
     "and not is_round(labels[box(index)] == index + 1))", "and True)", "tests/test_real_scans.py", "round_specks"),
    ("size original keeps a round speck beside the digit", "plugin/analysis.py",
     "if index != largest and is_round(labels[windows[index - 1]] == index):", "if False:",
     "tests/test_real_scans.py", "full_resolution_a_round"),
    ("a blot of a darker ink passes for a part of the digit", "plugin/analysis.py",
     "< ANOTHER_INK * typical[main[index]]", "< np.inf", "tests/test_real_scans.py", "blots"),
    ("a page at its own size always steepened three times: soft edges made crisp", "plugin/adapter.py",
     "steepness = float(np.clip(np.hypot(width, sigma) / max(width, 1e-6), 1.0, MAX_STEEPNESS))",
     "steepness = MAX_STEEPNESS", "tests/test_real_scans.py", "stroke_edges"),
    ("soft edges not smoothed as far as their width: grain left on them", "plugin/adapter.py",
     "    if further > sigma:", "    if False:", "tests/test_real_scans.py", "stroke_edges"),
    ("the feet of a speck taken off a stroke kept with the stroke's", "plugin/adapter.py",
     "    if removed.any():\n        near &=", "    if False:\n        near &=", "tests/test_real_scans.py", "rim"),
    ("a fine pen's thin strokes taken for soft edges and smoothed away", "plugin/adapter.py",
     "if stroke_width < THIN_STROKES * smoothed_width:", "if False:", "tests/test_real_scans.py",
     "fine_pen or stroke_edges"),
    ("preview reads a large scan from its shrunk copy, unlike run", "plugin/preview.py",
     "digit, frame = adapter.read(path, max_pixels=settings.max_pixels)",
     "digit, frame = adapter.before(read_scan(path, max_pixels=settings.max_pixels, reduction=adapter.reduction))",
     "tests/test_cli.py", "preview"),
    ("ink amounts clipped to [0, 1] before smoothing: noisy soft edges read wider", "plugin/adapter.py",
     "    amount *= np.float32(1 / (analysis.ink - analysis.paper))\n",
     "    amount *= np.float32(1 / (analysis.ink - analysis.paper))\n    np.clip(amount, 0.0, 1.0, out=amount)\n",
     "tests/test_real_scans.py", "stroke_edges"),
    ("output-name collision check deleted", "plugin/runner.py", "if claimed.setdefault(relative, source) != source:",
     "if False:", "tests/test_cli.py", "one_output_name"),
    ("manifest ignores the input's size", "plugin/manifest.py",
     "now = (source_stat.st_size, source_stat.st_mtime_ns,", "now = (row[0] if row else 0, source_stat.st_mtime_ns,",
     "tests/test_hostile_inputs.py", "another_size"),
    ("manifest ignores the output's own size and mtime", "plugin/manifest.py",
     "output_stat.st_size, output_stat.st_mtime_ns, key)", "*(row[2:4] if row else (0, 0)), key)",
     "tests/test_hostile_inputs.py", "changed_or_removed"),
    ("batch_size minimum lowered to 0", "plugin/config.py", "                              minimum=1)",
     "                              minimum=0)",
     "tests/test_hostile_inputs.py", "batch_size_zero"),
    ("safe_mode off", "plugin/denoiser.py", "safe_mode=True", "safe_mode=False", "tests/test_hostile_inputs.py", "lambda"),
    ("last partial chunk dropped", "models/inference.py", "for i in range(0, len(images), CHUNK)]",
     "for i in range(0, max(CHUNK, len(images) // CHUNK * CHUNK), CHUNK)]", "tests/test_denoiser.py", "chunk"),
    ("summary line sent to stderr", "cli/reporting.py", "typer.echo(line, err=quiet)", "typer.echo(line, err=True)",
     "tests/test_cli.py", "stdout"),
    ("baseline tuning picks the worst parameter", "plugin/evaluation.py", "return max(grid, key=", "return min(grid, key=",
     "tests/test_cli.py", "tuning"),
    ("the Ray path always writes PNG", "plugin/runner.py", "suffixes = [job.target.suffix for job in batch]",
     'suffixes = [".png" for job in batch]',
     "tests/test_ray.py", "format_same"),
    ("clip after normalization dropped", "plugin/adapter.py", "gray = np.clip((gray - low) / (high - low), 0.0, 1.0)",
     "gray = (gray - low) / (high - low)", "tests/test_adapter.py", "0_1"),
    ("frame centre moved by half a pixel", "plugin/framing.py", "FRAME_CENTRE = (MODEL_SIZE - 1) / 2",
     "FRAME_CENTRE = MODEL_SIZE / 2", "tests/test_adapter.py", "half_turn or centres"),
    ("input folder inside the output folder allowed", "plugin/runner.py",
     "if given.resolve().is_relative_to(output_dir.resolve()):", "if False:",
     "tests/test_hostile_inputs.py", "inside_the_output"),
    ("clean-up removes any look-alike temporary", "plugin/files.py",
     r'_TEMPORARY_NAME = re.compile(r"\.dd-[0-9a-f]{16}-\d+\.ddtmp(\.[^./]{1,16})?")',
     r'_TEMPORARY_NAME = re.compile(r"\..*\.ddtmp.*")', "tests/test_batch_runs.py", "stale"),
    ("temporary name keeps the whole file name", "plugin/files.py",
     'return path.with_name(f".dd-{digest}-{os.getpid()}{TEMPORARY_MARK}{suffix}")',
     'return path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_MARK}{suffix}")',
     "tests/test_hostile_inputs.py", "255_bytes"),
    ("NaN outputs written", "plugin/batch.py", "if not np.isfinite(result).all():", "if False:", "tests/test_hostile_inputs.py", "nan"),
    ("symlink loops walked again", "plugin/paths.py", "if key in walked:", "if False:",
     "tests/test_hostile_inputs.py", "loops"),
    ("unreadable folders ignored", "plugin/paths.py",
     'report(on_error, Path(error.filename), f"cannot list the folder', 'None and report(on_error, Path(error.filename), f"cannot list the folder',
     "tests/test_hostile_inputs.py", "unreadable"),
    ("planted manifest symlink followed", "plugin/manifest.py", '_refuse_planted(self.path, "manifest")', "pass",
     "tests/test_hostile_inputs.py", "planted"),
    ("corrupt manifest not rebuilt", "plugin/manifest.py", "os.replace(self.path, aside)", "raise",
     "tests/test_hostile_inputs.py", "corrupt_manifest"),
    ("manifest keys as text", "plugin/manifest.py", "(os.fsencode(output),),", "(output,),",
     "tests/test_hostile_inputs.py", "utf8_is_done"),
    ("a full disk does not stop the run", "plugin/runner.py",
     "if error.errno in _OUTPUT_UNUSABLE:", "if False:",
     "tests/test_hostile_inputs.py", "full_disk or disk_full"),
    ("EXIF orientation ignored", "plugin/scans.py", "if image.getexif().get(_ORIENTATION, 1) != 1:", "if False:",
     "tests/test_hostile_inputs.py", "exif"),
    ("multi-page files read as page 1", "plugin/scans.py", "if pages > 1:", "if False:",
     "tests/test_hostile_inputs.py", "multi_page"),
    ("float TIFFs of 0-255 clipped", "plugin/scans.py", "for peak in (1.0, 255.0, 65535.0):", "for peak in (1.0, 1e9):",
     "tests/test_hostile_inputs.py", "float_tiff"),
    ("16-bit images decoded in full", "plugin/scans.py", 'return image.convert("I")', "return image",
     "tests/test_hostile_inputs.py", "bounded_memory"),
    ("a plugin's SystemExit escapes", "plugin/registry.py", "except BaseException as error:", "except Exception as error:",
     "tests/test_hostile_inputs.py", "system_exit"),
    ("model output shape unchecked", "plugin/denoiser.py",
     'shapes = [getattr(model, "input_shape", None), getattr(model, "output_shape", None)]',
     'shapes = [getattr(model, "input_shape", None)] * 2', "tests/test_hostile_inputs.py", "not_a_digit"),
    ("whole values in config messages", "plugin/config.py", "return _EXCERPT.repr(value)", "return repr(value)[:100000]",
     "tests/test_hostile_inputs.py", "yaml_bomb"),
    ("report folder checked only at the end", "cli/run.py", 'check_writable_file(report, "--report")', "pass",
     "tests/test_hostile_inputs.py", "missing_folder"),
    ("paths printed raw", "plugin/runner.py", 'self.failures.append({"path": printable(path),',
     'self.failures.append({"path": str(path),', "tests/test_hostile_inputs.py", "forge"),
    ("failure reasons repeat the path", "plugin/batch.py", "outcomes[index].error = result.reason",
     "outcomes[index].error = str(result)",
     "tests/test_batch_runs.py", "bad_files"),
    # One engine, one declaration of settings (issue 11)
    ("output settings left out of the run key", "plugin/manifest.py", "[model_sha256, settings.output_values(), __version__]",
     "[model_sha256, {}, __version__]", "tests/test_engine.py", "run_key"),
    ("the version left out of the run key", "plugin/manifest.py", "[model_sha256, settings.output_values(), __version__]",
     "[model_sha256, settings.output_values()]", "tests/test_engine.py", "version"),
    ("workers run the caller's __main__ again", "plugin/batch.py",
     'sys.modules["__main__"] = types.ModuleType("__main__")', "pass", "tests/test_engine.py", "main_guard"),
    ("the model loaded before there is work", "plugin/runner.py", "denoiser = denoiser or find_denoiser(settings.model)",
     "denoiser = denoiser or find_denoiser(settings.model); denoiser.model", "tests/test_engine.py", "nothing_to_do"),
    # Real scans (issue 12)
    ("levels normalize ignored", "plugin/adapter.py",
     "            paper, ink = (1.0, 0.0) if analysis.inverted else (0.0, 1.0)",
     "            pass", "tests/test_real_scans.py", "levels"),
    ("strict ignored", "plugin/runner.py", "if self.settings.strict:", "if False:", "tests/test_real_scans.py", "strict"),
    ("specks and bumps kept at full size", "plugin/adapter.py",
     "kept = without_bumps(digit_parts(inked), largest=BUMP / step)",
     "kept = inked", "tests/test_real_scans.py", "own_size"),
    ("a stop once every job is in hand counts as an interruption", "plugin/runner.py",
     "interrupted = interrupted and (len(started) < len(in_flight) or next(jobs, None) is not None)",
     "interrupted = interrupted", "tests/test_batch_runs.py", "interrupts_nothing"),
    ("full-size pages handed out a batch_size at a time", "plugin/runner.py",
     "unit = min(unit, ORIGINAL_CHUNK)", "unit = unit", "tests/test_engine.py", "full_size"),
    ("ruled lines not painted out", "plugin/analysis.py",
     "image[lines] = image[below] * (1 - weight) + image[above] * weight", "pass", "tests/test_real_scans.py",
     "ruled_line"),
    ("strokes of a tightly cropped digit taken for ruled lines", "plugin/analysis.py",
     "if (end - start <= LINE_WIDTH or at_edge) and", "if", "tests/test_real_scans.py",
     "tightly"),
    ("a dark page edge taken for a stroke", "plugin/analysis.py", "if (end - start <= LINE_WIDTH or at_edge)",
     "if (end - start <= LINE_WIDTH)", "tests/test_real_scans.py", "page_edge"),
    ("the ink's box in whole pixels", "plugin/framing.py",
     "return list(zip(tops.tolist(), lefts.tolist(), bottoms.tolist(), rights.tolist()))",
     "return list(zip(*(np.round(side).tolist() for side in (tops, lefts, bottoms, rights))))",
     "tests/test_adapter.py", "fraction_of_a_pixel"),
    ("the box's level not lowered for strokes too thin to fill a 5x5 mean", "plugin/framing.py",
     "level = INK_LEVEL * np.clip(stroke / FULL_STROKE, 0.1, 1.0)",
     "level = INK_LEVEL * np.ones_like(stroke)", "tests/test_adapter.py", "too_thin"),
    ("the centre of mass weighs the columns whose first edge lies in the box", "plugin/framing.py",
     "weight *= ((cols + 0.5 >= left[:, None]) & (cols + 0.5 < right[:, None]))[:, None, :]",
     "weight *= ((cols >= left[:, None]) & (cols < right[:, None]))[:, None, :]",
     "tests/test_adapter.py", "half_turn"),
    ("polarity from the side most pixels are on only, not the page's edges", "plugin/analysis.py",
     "looks_light = np.where(by_edges, edges_on_light, most_light)",
     "looks_light = most_light", "tests/test_real_scans.py", "bold"),
    ("the page's edges decide its polarity whatever share of the pixels their side holds", "plugin/analysis.py",
     "PAPER_EDGES = 0.4", "PAPER_EDGES = 0.0", "tests/test_real_scans.py", "lid"),
    ("the light fit starts from the median of all the pixels, the ink's in a bold cut", "plugin/analysis.py",
     "centre = _medians(values, (values - middle) * sign >= 0)", "centre = _medians(values, values == values)",
     "tests/test_real_scans.py", "bold"),
    ("a fine pen's faint framed strokes taken for MNIST's: not widened, not flagged", "plugin/framing.py",
     "return (peaks >= 0.05) & (peaks < THIN_PEAK)", "return peaks < 0", "tests/test_real_scans.py",
     "fine_pen or its_reason"),
    ("the 28x28 window reflects the image at its top and left edges", "plugin/framing.py",
     "taps = below[..., None].astype(np.intp) + [0, 1]", "taps = np.abs(below[..., None].astype(np.intp) + [0, 1])",
     "tests/test_real_scans.py", "tightly"),
    ("ruled lines found on the 5x5-smoothed pixels, which noise breaks up", "plugin/analysis.py",
     "along = across if axis == 1 else _mean(flat, 1, 5)",
     "along = _mean(_mean(flat, 2, 5), 1, 5)", "tests/test_real_scans.py",
     "noise_breaks_up"),
    ("uneven light not flattened", "plugin/analysis.py", "flat = grays / _fields(light.astype(np.float32), *grid)",
     "flat = grays.copy()",
     "tests/test_real_scans.py", "seam or ruled_line"),
    ("the model's change kept whole on a clean scan", "plugin/adapter.py",
     "trust=_trust(seen.analysis, min(1.0, scale))", "trust=1.0", "tests/test_real_scans.py", "noisy"),
    ("fine-tuning ignores the pairs' targets", "models/training.py",
     "targets = np.concatenate([x_train, both[:, 1]])", "targets = np.concatenate([x_train, both[:, 0]])",
     "tests/test_models.py", "fine_tune"),
    ("fine-tuning loss is plain MSE", "models/training.py",
     "return keras.ops.log(keras.ops.mean(keras.ops.square(y_true - y_pred), axis=(1, 2)) + 1e-5)",
     "return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=(1, 2))", "tests/test_models.py", "log_mse"),
    ("scan pairs kept whatever their frames", "plugin/training.py",
     "if same_frame(noisy_frame.placement, clean_frame.placement):", "if True:", "tests/test_real_scans.py",
     "scan_pairs"),
    ("stacked scans ranked together for their main component", "plugin/analysis.py",
     "order = np.lexsort((np.arange(total), -areas, image))", "order = np.lexsort((np.arange(total), image, -areas))",
     "tests/test_pipeline.py", "together"),
    ("stacked medians all read at one image's middle", "plugin/analysis.py",
     "return ordered[np.arange(len(values)), (counts * fraction).astype(int)]",
     "return ordered[:, int(counts.max() * fraction)]",
     "tests/test_pipeline.py", "together"),
    ("one unreadable file stops the files read with it", "plugin/scans.py",
     "        except Exception as error:\n            results[index] = error\n            continue",
     "        except Exception:\n            raise", "tests/test_pipeline.py", "together"),
    ("a fault in the stacked analysis fails the whole batch", "plugin/batch.py",
     "        adapted = [_read_alone(adapter, source, settings.max_pixels) for source in sources]", "        raise",
     "tests/test_pipeline.py", "trips"),
    # The command line (issue 13)
    ("TensorFlow's start-up lines let through", "models/__init__.py", "    with _stderr_held():",
     "    with contextlib.nullcontext():", "tests/test_command_line.py", "held_back"),
    ("an empty input succeeds", "cli/run.py", "if summary.found == 0 and not summary.failed and not allow_empty:",
     "if False:", "tests/test_command_line.py", "empty"),
    ("dpi and ICC profile dropped", "plugin/scans.py",
     "metadata = {key: image.info[key] for key in KEPT_METADATA if image.info.get(key)}", "metadata = {}",
     "tests/test_command_line.py", "dpi"),
    ("watch does not wait for a half-written file", "plugin/watch.py", "    before = sizes()\n", "    return True\n",
     "tests/test_command_line.py", "half_written"),
    ("a run's end goes out in full batches", "plugin/runner.py", "horizon = 2 * workers * size if workers > 1 else 0",
     "horizon = 0", "tests/test_batch_runs.py", "shared_out"),
    ("the ink's level from every pixel clearly off the paper, a stain's too", "plugin/analysis.py",
     "clearly &= toward > _column(paper * sign + 0.5 * np.maximum(furthest - paper * sign, 0.0))", "clearly &= clearly",
     "tests/test_real_scans.py", "stain"),
    ("thin strokes found on the 5x5 mean alone, which they never fill", "plugin/analysis.py",
     "inked = (smooth * _column(towards_ink) > halfway) | (smoothed(flat, 3)[1] * _column(towards_ink) > halfway)",
     "inked = smooth * _column(towards_ink) > halfway", "tests/test_real_scans.py", "small_clean"),
    ("a part of the digit as short as a speck left out", "plugin/analysis.py",
     "candidate = (np.arange(total) != main) & (areas >= DIGIT_PART * areas[main])",
     "candidate = (np.arange(total) != main) & (areas >= DIGIT_PART * areas[main]) & (np.maximum(bottom - top, "
     "right - left) >= 0.4 * size)", "tests/test_real_scans.py", "short_stroke"),
]


def run_tests(test_file, expression, timeout):
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test_file, "-k", expression]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "caught (the tests hung)"
    if result.returncode == 5:
        return "NO TEST selected"
    return "caught" if result.returncode else "MISSED"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutations whose name holds this text")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per test run")
    args = parser.parse_args()
    tally = {}
    for name, file, original, bug, test_file, expression in MUTATIONS:
        if args.k not in name:
            continue
        path = ROOT / file
        source = path.read_text()
        if source.count(original) != 1:
            verdict = "STALE (the source moved)"
        else:
            try:
                path.write_text(source.replace(original, bug))
                verdict = run_tests(test_file, expression, args.timeout)
            finally:
                path.write_text(source)
        tally[verdict.split()[0]] = tally.get(verdict.split()[0], 0) + 1
        print(f"{verdict:<26} {name}  [{file}; {test_file} -k {expression!r}]", flush=True)
    print(", ".join(f"{count} {verdict}" for verdict, count in sorted(tally.items())))
    return 0 if set(tally) <= {"caught"} else 1


if __name__ == "__main__":
    sys.exit(main())
