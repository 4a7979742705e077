"""Download registry models for maintainers: resumable, hash-checked, renamed into place only when verified.

    python tools/release/fetch_models.py [ID ...] [--dest DIR] [--registry FILE] [--retries N]

With no ID, every model in the registry. A download goes to `<file>.part` next to the destination; an
interrupted one resumes from there with an HTTP Range request (also on the next run). The finished file is
hashed and renamed to its registry file name only when the SHA-256 matches; a mismatching download is
deleted. An unpinned model is kept and its computed SHA-256 printed, so that a maintainer can confirm and pin
it. Exit status: 0 when every model is in place, 1 when any failed, 2 for a usage error.
"""

import argparse
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

# tools/ is not a package: put the repo root on sys.path to import the engine's registry code.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from addon.depth.errors import ModelError
from addon.depth.models import ModelSpec, file_sha256, load_registry
from addon.depth.paths import MODEL_REGISTRY, MODELS_DIR

CHUNK = 1 << 20
TIMEOUT_S = 60


class FetchError(Exception):
    """A model could not be downloaded or verified (one sentence, naming the model)."""


def _download_once(url: str, partial: Path, report) -> None:
    """Append the rest of `url` to `partial`, resuming from its current size."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "monocular-photo-fetch/1"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the partial file is already complete
            return
        raise
    with response:
        resumed = response.status == 206
        mode = "ab" if resumed else "wb"  # a server that ignores Range sends everything again
        total = response.headers.get("Content-Length")
        total = int(total) + (have if resumed else 0) if total else None
        done = have if resumed else 0
        with partial.open(mode) as stream:
            while chunk := response.read(CHUNK):
                stream.write(chunk)
                done += len(chunk)
                report(done, total)
        if total is not None and done < total:
            raise ConnectionError(f"connection closed after {done} of {total} bytes")


def fetch(spec: ModelSpec, dest: Path, retries: int = 3, report=lambda done, total: None) -> Path:
    """Download one model into `dest` (see the module docstring); returns the verified file's path."""
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / spec.file_name
    if final.is_file() and (spec.sha256 is None or file_sha256(final) == spec.sha256):
        return final
    partial = dest / (spec.file_name + ".part")
    for attempt in range(retries + 1):
        try:
            _download_once(spec.url, partial, report)
            break
        except (OSError, urllib.error.URLError) as exc:  # network errors: keep the partial file and resume
            if attempt == retries:
                raise FetchError(f'"{spec.id}": download from {spec.url} failed ({exc}); run again to resume.') from exc
    digest = file_sha256(partial)
    if spec.sha256 is not None and digest != spec.sha256:
        partial.unlink()
        raise FetchError(
            f'"{spec.id}": the downloaded file has SHA-256 {digest}, not the pinned {spec.sha256}; it was deleted.'
        )
    os.replace(partial, final)
    return final


def _progress_printer(model_id: str):
    if not sys.stderr.isatty():
        return lambda done, total: None

    def report(done: int, total: int | None) -> None:
        size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        print(f"\r{model_id}: {size}", end="", file=sys.stderr, flush=True)

    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", metavar="ID", help="registry model ids (default: all)")
    parser.add_argument("--dest", type=Path, default=MODELS_DIR, help="folder to put the files in")
    parser.add_argument("--registry", type=Path, default=MODEL_REGISTRY, help="registry TOML file")
    parser.add_argument("--retries", type=int, default=3, help="resume attempts after a broken connection")
    args = parser.parse_args(argv)
    try:
        specs = load_registry(args.registry)
    except ModelError as exc:
        parser.error(str(exc))
    known = {spec.id: spec for spec in specs}
    unknown = [model_id for model_id in args.ids if model_id not in known]
    if unknown:
        parser.error(f"unknown model id(s): {', '.join(unknown)} (known: {', '.join(known)})")
    failed = 0
    for spec in [known[i] for i in args.ids] if args.ids else specs:
        try:
            path = fetch(spec, args.dest, args.retries, _progress_printer(spec.id))
        except FetchError as exc:
            print(f"\nFAILED {exc}", file=sys.stderr)
            failed += 1
            continue
        note = "verified" if spec.pinned else f"UNPINNED, SHA-256 {file_sha256(path)}"
        print(f"\r{spec.id}: {path} ({note})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
