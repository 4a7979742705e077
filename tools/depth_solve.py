"""Batch depth estimation without Blender: one depth map per photo.

    python tools/depth_solve.py SRC... --out DIR [--model ID | --model-file PATH] [--format png16|exr|npy]
                                [--overwrite] [--device AUTO|CPU|CUDA] [--models-dir DIR]

SRC are image files or folders (searched non-recursively for images). Each photo `NAME.ext` gives
`DIR/NAME_depth.png|.exr|.npy` (the suffix keeps a depth map from ever replacing a photo in the same folder).
png16 stores relative inverse depth normalised to 0..65535 (near = bright); exr and npy store it as float.
An existing output is never replaced unless --overwrite is given, and files are written under a temporary
name then renamed, so an interrupted run leaves no partial file.

Decoding, inference and writing overlap: worker threads decode and pre-process the next photos and others
upsample and write finished ones while the main thread keeps the network busy.

Exit status: 0 when every input succeeded, 1 when some failed (the rest are still written, one line per
failure on stderr), 2 for a usage error (bad arguments, no images found, a model that cannot be loaded).
"""

import argparse
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# tools/ is not a package: put the repo root on sys.path so the add-on's bpy-free engine can be imported.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addon.depth import DepthError, DepthEstimator, write_depth_file  # noqa: E402
from addon.depth.depth_files import FORMATS  # noqa: E402
from addon.depth.models import DEFAULT_MODEL_ID  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".exr", ".bmp", ".tga", ".jp2"}
PREFETCH = 4  # photos decoded ahead of the network: enough to hide a slow disk, small in memory (~1 MB each)
DECODE_WORKERS = 2
WRITE_WORKERS = 2


def collect_inputs(sources: list[str]) -> list[Path]:
    """Files as given, folders expanded (non-recursively, sorted) to their image files."""
    inputs = []
    for source in map(Path, sources):
        if source.is_dir():
            inputs += sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            inputs.append(source)  # a missing or non-image file fails on its own, with its reason
    return inputs


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
            self.stream.write("\r" + " " * 80 + "\r")
        print(f"failed: {message}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")


def output_path(photo: Path, out_dir: Path, fmt: str) -> Path:
    return out_dir / f"{photo.stem}_depth{FORMATS[fmt]}"


def plan_jobs(inputs: list[Path], out_dir: Path, fmt: str, overwrite: bool, progress: Progress):
    """(photo, output) pairs worth running; inputs that cannot succeed fail here, before any decoding."""
    jobs, claimed = [], {}
    for photo in inputs:
        target = output_path(photo, out_dir, fmt)
        if target in claimed:
            progress.fail(f'"{photo.name}" would write "{target.name}", which "{claimed[target].name}" also writes.')
        elif target.exists() and not overwrite:
            progress.fail(f'"{photo.name}": "{target.name}" already exists in {out_dir} (use --overwrite to replace it).')
        else:
            claimed[target] = photo
            jobs.append((photo, target))
            continue
        progress.advance(photo.name)
    return jobs


def run(estimator: DepthEstimator, jobs, fmt: str, overwrite: bool, progress: Progress) -> int:
    """Decode ahead, infer in order, write behind. Returns the number of failed jobs."""
    failures = 0

    def finish_and_write(prepared, raw, target):
        result = estimator.finish(prepared, raw)
        write_depth_file(target, result.depth, fmt, overwrite=overwrite)

    with ThreadPoolExecutor(DECODE_WORKERS, "decode") as decoders, ThreadPoolExecutor(WRITE_WORKERS, "write") as writers:
        queued = deque()
        pending_jobs = iter(jobs)

        def refill():
            while len(queued) < PREFETCH and (job := next(pending_jobs, None)) is not None:
                queued.append((job, decoders.submit(estimator.prepare, job[0])))

        writes = deque()

        def settle_writes(limit: int):
            nonlocal failures
            while len(writes) > limit:
                (photo, _), future = writes.popleft()
                try:
                    future.result()
                except (DepthError, OSError) as exc:
                    progress.fail(_reason(photo, exc))
                    failures += 1
                progress.advance(photo.name)

        refill()
        while queued:
            (photo, target), decoded = queued.popleft()
            refill()
            try:
                prepared = decoded.result()
                raw = estimator.infer(prepared)
            except (DepthError, OSError, MemoryError) as exc:
                progress.fail(_reason(photo, exc))
                failures += 1
                progress.advance(photo.name)
                continue
            writes.append(((photo, target), writers.submit(finish_and_write, prepared, raw, target)))
            settle_writes(PREFETCH)  # bound the backlog if the disk is slower than the network
        settle_writes(0)
    return failures


def _reason(photo: Path, exc: BaseException) -> str:
    message = str(exc)
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
    parser.add_argument("--models-dir", type=Path, action="append", default=[],
                        help="extra folder holding registry model files (repeatable)")
    args = parser.parse_args(argv)

    inputs = collect_inputs(args.sources)
    if not inputs:
        parser.error(f"no images found in {', '.join(args.sources)}")
    try:
        estimator = DepthEstimator(args.model, args.model_file, args.device, args.models_dir)
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
        failures += run(estimator, jobs, args.format, args.overwrite, progress)
    except KeyboardInterrupt:
        progress.close()
        print("interrupted: finished depth maps are kept, none is left half-written", file=sys.stderr)
        return 130
    progress.close()
    written = len(inputs) - failures
    print(f"{written} depth map{'s' * (written != 1)} written to {args.out}"
          + (f", {failures} input{'s' * (failures != 1)} failed" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
