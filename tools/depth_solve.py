"""Batch depth estimation without Blender: one depth map per photo.

    python tools/depth_solve.py SRC... --out DIR [--model ID | --model-file PATH] [--format png16|exr|npy]
                                [--overwrite] [--device AUTO|CPU|CUDA] [--models-dir DIR] [--jobs N] [--no-refine]

SRC are image files or folders (searched non-recursively for images). Each photo `NAME.ext` gives
`DIR/NAME.png|.exr|.npy`; an output that would land on one of the input photos is refused, even with --overwrite.
png16 stores relative inverse depth normalised to 0..65535 (near = bright); exr and npy store it as float.
An existing output is never replaced unless --overwrite is given, and files are written under a temporary
name then renamed, so an interrupted run leaves no partial file. Maps are written at the working resolution with
their edges refined onto the photo's, as the add operator builds them; --no-refine upsamples them bilinearly.

Decoding, inference and writing overlap on a thread pool: while the network runs, other workers decode and
pre-process the next photos and upsample and write finished ones. On a CPU, two inferences run at once with
half the cores each (--jobs), which keeps every core busy; on a GPU one, fed by up to 8 decoding workers.

Exit status: 0 when every input succeeded, 1 when some failed (the rest are still written, one line per
failure on stderr), 2 for a usage error (bad arguments, no images found, a model that cannot be loaded).
"""

import argparse
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

# tools/ is not a package: put the repo root on sys.path so the add-on's bpy-free engine can be imported.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addon.depth import DepthError, DepthEstimator, write_depth_file
from addon.depth.depth_files import FORMATS
from addon.depth.images import collect_photos
from addon.depth.inference import accelerator_available
from addon.depth.models import DEFAULT_MODEL_ID

# Workers beyond the inference slots, which decode the next photos and write finished maps. On a CPU the
# network already loads every core, so two are enough to have a photo ready; an accelerator infers faster
# than one core decodes a 12 MP JPEG (~25 ms), so there every core gets a worker (Pillow and zlib release
# the GIL), up to a cap that bounds the memory held by photos in flight.
CPU_DECODE_AHEAD = 2
MAX_ACCELERATOR_DECODE_AHEAD = 8


class Progress:
    """A one-line progress bar on a terminal; silent otherwise. Failure lines are printed above it."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.live = stream.isatty()

    def advance(self, name: str) -> None:
        self.done += 1
        if self.live:
            filled = round(30 * self.done / self.total)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {name[:40]:<40}")
            self.stream.flush()

    def fail(self, message: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")  # clear the bar's line before the message
        print(f"failed: {message}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


def output_path(photo: Path, out_dir: Path, fmt: str) -> Path:
    return out_dir / f"{photo.stem}{FORMATS[fmt]}"


def plan_jobs(inputs: list[Path], out_dir: Path, fmt: str, overwrite: bool, progress: Progress):
    """(photo, output) pairs worth running; inputs that cannot succeed fail here, before any decoding."""
    jobs, claimed = [], {}
    photos = {photo.resolve() for photo in inputs}
    for photo in inputs:
        target = output_path(photo, out_dir, fmt)
        if target.resolve() in photos:
            progress.fail(
                f'"{photo.name}": its depth map "{target}" would replace an input photo; choose another --out.'
            )
        elif target in claimed:
            progress.fail(f'"{photo.name}" would write "{target.name}", which "{claimed[target].name}" also writes.')
        elif target.exists() and not overwrite:
            progress.fail(
                f'"{photo.name}": "{target.name}" already exists in {out_dir} (use --overwrite to replace it).'
            )
        else:
            claimed[target] = photo
            jobs.append((photo, target))
            continue
        progress.advance(photo.name)
    return jobs


def run(
    estimator: DepthEstimator,
    jobs,
    fmt: str,
    overwrite: bool,
    progress: Progress,
    network_slots: int,
    decode_ahead: int = CPU_DECODE_AHEAD,
) -> int:
    """Process every job on a thread pool; returns the number of failed jobs.

    Each worker decodes, infers and writes one photo; a semaphore lets `network_slots` inferences run at
    once, and the pool has `decode_ahead` more workers than that, so that a decoded photo is waiting when
    the network frees up while finished maps are upsampled and written.
    """
    network = threading.Semaphore(network_slots)

    def process(photo: Path, target: Path) -> None:
        prepared = estimator.prepare(photo)
        with network:
            raw = estimator.infer(prepared)
        result = estimator.finish(prepared, raw)
        write_depth_file(target, result.depth, fmt, overwrite=overwrite)

    failures = 0
    with ThreadPoolExecutor(network_slots + decode_ahead, "depth") as pool:
        futures = {pool.submit(process, photo, target): photo for photo, target in jobs}
        try:
            for future in as_completed(futures):
                photo = futures[future]
                try:
                    future.result()
                except Exception as exc:  # one bad photo, whatever the cause, must not stop the batch
                    progress.fail(_reason(photo, exc))
                    failures += 1
                progress.advance(photo.name)
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()  # photos not started are dropped; those running finish their atomic write
            raise
    return failures


def parallelism(device: str, jobs: int | None) -> tuple[int, int | None, int]:
    """(inferences at once, CPU threads per inference, extra decode/write workers).

    On a CPU, two half-width inferences keep every core busy through the serial parts of the network that
    one full-width run leaves idle; an accelerator runs one at a time and needs more decoders instead.
    """
    cores = os.cpu_count() or 1
    if accelerator_available(device):
        return jobs or 1, None, max(CPU_DECODE_AHEAD, min(cores, MAX_ACCELERATOR_DECODE_AHEAD))
    slots = jobs or (2 if cores >= 2 else 1)
    return slots, max(1, cores // slots), CPU_DECODE_AHEAD


def _reason(photo: Path, exc: Exception) -> str:
    message = str(exc) if isinstance(exc, DepthError) else f"{exc.__class__.__name__}: {exc}"
    return message if photo.name in message else f'"{photo.name}": {message}'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", metavar="SRC", help="image files or folders of images")
    parser.add_argument("--out", type=Path, required=True, help="folder to write depth maps into")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", default=None, help=f"registry model id (default {DEFAULT_MODEL_ID})")
    model.add_argument("--model-file", type=Path, help="a custom .onnx depth model")
    parser.add_argument("--format", choices=list(FORMATS), default="png16", help="depth file format")
    parser.add_argument("--overwrite", action="store_true", help="replace existing depth maps")
    parser.add_argument("--device", choices=["AUTO", "CPU", "CUDA"], default="AUTO")
    parser.add_argument(
        "--models-dir",
        type=Path,
        action="append",
        default=[],
        help="extra folder holding registry model files (repeatable)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="photos inferred at once (default: 2 on a CPU with 2+ cores, else 1)"
    )
    parser.add_argument(
        "--no-refine",
        dest="refine_edges",
        action="store_false",
        help="upsample the network's map bilinearly instead of onto the photo's edges",
    )
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")

    inputs = collect_photos(args.sources)
    if not inputs:
        parser.error(f"no images found in {', '.join(args.sources)}")
    try:
        network_slots, threads, decode_ahead = parallelism(args.device, args.jobs)
        estimator = DepthEstimator(
            args.model, args.model_file, args.device, args.models_dir, threads, refine_edges=args.refine_edges
        )
    except DepthError as exc:
        print(f"error: {exc}", file=sys.stderr)  # the arguments were well-formed: no usage text, just why
        return 2
    if args.format == "png16" and estimator.spec.output_kind != "INVERSE":
        parser.error(f'"{estimator.model_id}" outputs metric depth; png16 holds relative inverse depth, use exr or npy')
    if estimator.warning:
        print(f"warning: {estimator.warning}", file=sys.stderr)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot create the output folder {args.out}: {exc.strerror or exc}")

    progress = Progress(len(inputs))
    jobs = plan_jobs(inputs, args.out, args.format, args.overwrite, progress)
    failures = len(inputs) - len(jobs)
    try:
        failures += run(estimator, jobs, args.format, args.overwrite, progress, network_slots, decode_ahead)
    except KeyboardInterrupt:
        progress.close()
        print("interrupted: finished depth maps are kept, none is left half-written", file=sys.stderr)
        return 130
    progress.close()
    written = len(inputs) - failures
    print(
        f"{written} depth map{'s' * (written != 1)} written to {args.out}"
        + (f", {failures} input{'s' * (failures != 1)} failed" if failures else "")
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
