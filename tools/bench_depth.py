"""Benchmark the depth engine against bare onnxruntime, all measured in one run on this machine.

    python tools/bench_depth.py [--photos 50] [--repeats 10] [--device AUTO|CPU|CUDA] [--work DIR]

Uses a synthetic 12 MP JPEG (4032x3024) and the architecture-faithful MiDaS v2.1 small model with random
weights (tools/make_bench_model.py). Reports, with targets:
- estimate_depth end to end vs bare `session.run` on a ready tensor (overhead target <= 150 ms);
- tools/depth_solve.py throughput over N copies of the photo vs bare back-to-back inference (>= 85 %);
- peak resident memory above the interpreter's baseline after imports (<= 1 GB).
Inputs are generated in a child process first, so that making them does not count towards peak memory.
"""

import argparse
import contextlib
import io
import resource
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# tools/ is not a package: put the repo root on sys.path to import the engine, and tools/ for the tools.
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tools"))

PHOTO_SIZE = (4032, 3024)
DEFAULT_WORK = REPO_ROOT / "build" / "bench"


def prepare_inputs(work: Path, count: int) -> None:
    """The bench model, one synthetic 12 MP photo and `count` copies of it (run in a child process)."""
    import numpy as np
    from PIL import Image

    import make_bench_model

    model_path = work / "midas_v21_small_random.onnx"
    if not model_path.exists():
        import onnx

        onnx.save(make_bench_model.build()[0], model_path)
    photo = work / "photo_12mp.jpg"
    if not photo.exists():
        # Smooth gradients plus sensor-like noise: compresses and decodes like a real photo (a few MB).
        width, height = PHOTO_SIZE
        rng = np.random.default_rng(0)
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        base = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin(x / 200) * np.cos(y / 150)], axis=2) * 200
        pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(photo, quality=90)
    batch = work / "batch_in"
    if not batch.exists() or len(list(batch.iterdir())) != count:
        shutil.rmtree(batch, ignore_errors=True)
        batch.mkdir()
        for index in range(count):
            shutil.copyfile(photo, batch / f"photo_{index:03d}.jpg")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def median_ms(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50, help="photos in the batch run")
    parser.add_argument("--repeats", type=int, default=10, help="runs per median")
    parser.add_argument("--device", choices=["AUTO", "CPU", "CUDA"], default="AUTO")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="folder for generated inputs")
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.prepare_only:
        prepare_inputs(args.work, args.photos)
        return 0
    subprocess.run([sys.executable, __file__, "--prepare-only", "--work", str(args.work),
                    "--photos", str(args.photos)], check=True)

    import numpy as np
    import onnxruntime  # noqa: F401  (imported before the baseline: Blender's Python has it loaded too)

    import depth_solve
    from addon.depth import DepthEstimator, estimate_depth, read_photo_info

    baseline_mb = rss_mb()
    model_path = args.work / "midas_v21_small_random.onnx"
    photo = args.work / "photo_12mp.jpg"
    estimator = DepthEstimator(model_path=model_path, device=args.device)
    session, input_name = estimator.loaded.session, estimator.loaded.input_name
    tensor = estimator.prepare(photo).tensor
    bare_run = lambda: session.run(None, {input_name: tensor})  # noqa: E731
    end_to_end = lambda: estimate_depth(photo, model_path=model_path, device=args.device)  # noqa: E731
    for warm_up in (bare_run, end_to_end):
        warm_up()

    # Interleave the two so that load from other processes on this machine hits both alike.
    bare, full = [], []
    for _ in range(args.repeats):
        bare.append(median_ms(bare_run, 1))
        full.append(median_ms(end_to_end, 1))
    bare_ms, full_ms = statistics.median(bare), statistics.median(full)
    prepare_ms = median_ms(lambda: estimator.prepare(photo), args.repeats)
    raw = session.run(None, {input_name: tensor})[0][0]
    prepared = estimator.prepare(photo)
    finish_ms = median_ms(lambda: estimator.finish(prepared, raw), args.repeats)

    start = time.perf_counter()
    for _ in range(args.photos):
        bare_run()
    bare_throughput = args.photos / (time.perf_counter() - start)

    # The same network run the way depth_solve runs it (on a CPU: two half-width sessions side by side),
    # to show what the pipeline itself costs against its own ceiling.
    slots, threads = depth_solve._parallelism(args.device, None)
    parallel = DepthEstimator(model_path=model_path, device=args.device, threads=threads).loaded
    parallel.session.run(None, {input_name: tensor})
    start = time.perf_counter()
    with ThreadPoolExecutor(slots) as pool:
        list(pool.map(lambda _: parallel.session.run(None, {input_name: tensor}), range(args.photos)))
    parallel_throughput = args.photos / (time.perf_counter() - start)

    out = args.work / "batch_out"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = depth_solve.main([str(args.work / "batch_in"), "--out", str(out), "--model-file", str(model_path),
                                   "--device", args.device])
    batch_throughput = args.photos / (time.perf_counter() - start)
    written = len(list(out.iterdir()))
    peak_mb = peak_rss_mb() - baseline_mb

    overhead_ms = full_ms - bare_ms
    ratio = batch_throughput / bare_throughput
    parallel_ratio = batch_throughput / parallel_throughput
    parallel_label = f"{slots} x {threads} thread{'s' * (threads != 1)}" if threads else f"{slots} at a time"
    width, height = read_photo_info(photo).size
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    print(f"Depth engine benchmark: {width}x{height} JPEG ({photo.stat().st_size / 1e6:.1f} MB), "
          f"MiDaS v2.1 small architecture (random weights), provider {estimator.provider}, "
          f"onnxruntime {sys.modules['onnxruntime'].__version__}, numpy {np.__version__}, "
          f"Python {sys.version.split()[0]}")
    rows = [
        ("bare session.run, ready tensor (median)", f"{bare_ms:8.1f} ms", "", ""),
        ("estimate_depth end to end (median)", f"{full_ms:8.1f} ms", "", ""),
        ("  overhead = end to end - bare", f"{overhead_ms:8.1f} ms", "<= 150 ms", verdict(overhead_ms <= 150)),
        ("    of which decode + preprocess", f"{prepare_ms:8.1f} ms", "", ""),
        ("    of which postprocess to 1024 px", f"{finish_ms:8.1f} ms", "", ""),
        (f"bare inference throughput ({args.photos} runs)", f"{bare_throughput:8.2f} /s", "", ""),
        (f"bare inference throughput, {parallel_label}", f"{parallel_throughput:8.2f} /s", "", ""),
        (f"depth_solve throughput ({args.photos} photos)", f"{batch_throughput:8.2f} /s",
         ">= 85 %", f"{ratio:.1%} of bare {verdict(ratio >= 0.85)}"),
        ("  against bare at depth_solve's parallelism", "", "", f"{parallel_ratio:.1%}"),
        ("peak memory above baseline", f"{peak_mb:8.0f} MB", "<= 1024 MB", verdict(peak_mb <= 1024)),
    ]
    print(f"{'measure':<44}{'value':>12}  {'target':<11}result")
    for name, value, target, result in rows:
        print(f"{name:<44}{value:>12}  {target:<11}{result}")
    print(f"(medians of {args.repeats}; baseline RSS after imports {baseline_mb:.0f} MB; "
          f"batch: exit {status}, {written} files written)")
    return 0 if status == 0 and overhead_ms <= 150 and ratio >= 0.85 and peak_mb <= 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
