"""The model registry (`onnx_models/registry.toml`), custom .onnx files, and SHA-256 verification.

A registry model file is used only when its SHA-256 matches the registry. A model whose hash is not pinned
in the registry ("unpinned") is used with a warning saying it could not be verified.

A custom `.onnx` file (not in the registry) is described by, in order of precedence:
1. a sidecar JSON file next to it, named `<file>.onnx.json`;
2. the model's ONNX `metadata_props`;
3. the defaults below (ImageNet mean/std, multiple of 32, longer side <= 384, relative inverse depth).
Keys (the same in both places; metadata values are strings):
- `mean`, `std`: three numbers for R, G, B applied to pixel values in 0..1, e.g. "0.5,0.5,0.5";
- `multiple_of`: the input side multiple for models with a dynamic input size (e.g. 14 for ViT-S/14);
- `max_size`: the longer input side for dynamic models;
- `output_kind`: "INVERSE" (relative inverse depth, near is large) or "DEPTH" (metric distance).
The input size of a custom model always comes from its graph when the graph fixes it.
"""

import functools
import hashlib
import json
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .paths import MODEL_REGISTRY, MODELS_DIR

DEFAULT_MODEL_ID = "midas_v21_small_256"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_MULTIPLE_OF = 32
DEFAULT_MAX_SIZE = 384
OUTPUT_KINDS = ("INVERSE", "DEPTH")
CUSTOM_MODEL_KEYS = ("mean", "std", "multiple_of", "max_size", "output_kind")


@dataclass(frozen=True)
class ModelSpec:
    """How to find, verify, feed and read one depth model."""

    id: str
    name: str
    file_name: str
    sha256: str | None  # None: not pinned, the file cannot be verified
    url: str
    license: str
    # (width, height) for fixed-size models; None when the input size is dynamic (keep aspect, see below).
    input_size: tuple[int, int] | None
    multiple_of: int = DEFAULT_MULTIPLE_OF  # dynamic models: each input side is a multiple of this
    max_size: int = DEFAULT_MAX_SIZE  # dynamic models: the longer input side
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    output_kind: str = "INVERSE"
    notes: str = ""

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def find_file(self, search_dirs=()) -> Path | None:
        """The first verified model file in `search_dirs` then the bundled `onnx_models/`, or None.

        A file whose hash does not match is skipped (and `locate` says why); an unpinned model's file is
        returned as found.
        """
        try:
            return self.locate(search_dirs)
        except ModelError:
            return None

    def candidates(self, search_dirs=()) -> list[Path]:
        """Where the model file is looked for, in order: `search_dirs`, then the bundled `onnx_models/`."""
        folders = dict.fromkeys(Path(folder) for folder in (*search_dirs, MODELS_DIR))  # once each, in order
        return [folder / self.file_name for folder in folders]

    def locate(self, search_dirs=()) -> Path:
        """Like `find_file`, but raises ModelError saying where it looked or which file failed its hash check."""
        candidates = self.candidates(search_dirs)
        mismatched = []
        for candidate in candidates:
            if not candidate.is_file():
                continue
            if self.sha256 is None or file_sha256(candidate) == self.sha256.lower():
                return candidate
            mismatched.append(candidate)
        if mismatched:
            raise ModelError(
                f'"{mismatched[0].name}" in {mismatched[0].parent} does not match the SHA-256 pinned for model '
                f'"{self.id}" (corrupt, incomplete or a different file); download it again from {self.url}.'
            )
        folders = ", ".join(str(c.parent) for c in candidates)
        raise ModelError(
            f'The model file "{self.file_name}" for "{self.id}" is not installed; download it from {self.url} '
            f"into one of: {folders}."
        )


# (path, mtime_ns, size) -> hex digest: hashing a 100 MB model takes ~0.3 s, too slow to repeat every call.
_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path) -> str:
    """Hex SHA-256 of a file, cached per path, modification time and size."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    with _hash_lock:
        _hash_cache[key] = digest.hexdigest()
    return digest.hexdigest()


def _triple(value, what: str, source: str) -> tuple[float, float, float]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{source}: {what} must be three numbers, not {value!r}.") from exc
    if len(numbers) != 3:
        raise ModelError(f"{source}: {what} must be three numbers, not {len(numbers)}.")
    return numbers


def _spec_from_entry(entry: dict, source: str) -> ModelSpec:
    try:
        input_size = entry.get("input_size")
        spec = ModelSpec(
            id=entry["id"],
            name=entry["name"],
            file_name=entry["file_name"],
            sha256=entry.get("sha256") or None,
            url=entry["url"],
            license=entry["license"],
            input_size=tuple(input_size) if input_size else None,
            multiple_of=int(entry.get("multiple_of", DEFAULT_MULTIPLE_OF)),
            max_size=int(entry.get("max_size", DEFAULT_MAX_SIZE)),
            mean=_triple(entry.get("mean", IMAGENET_MEAN), "mean", source),
            std=_triple(entry.get("std", IMAGENET_STD), "std", source),
            output_kind=entry.get("output_kind", "INVERSE"),
            notes=entry.get("notes", ""),
        )
    except KeyError as exc:
        raise ModelError(f"{source}: a model entry lacks the required key {exc}.") from exc
    if spec.output_kind not in OUTPUT_KINDS:
        raise ModelError(
            f'{source}: model "{spec.id}" has output_kind {spec.output_kind!r}, not one of {OUTPUT_KINDS}.'
        )
    return spec


def load_registry(path=MODEL_REGISTRY) -> list[ModelSpec]:
    """Every model listed in a registry TOML file, in file order (parsed again only when the file changes)."""
    path = Path(path)
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError as exc:
        raise ModelError(f'The model registry "{path.name}" cannot be read ({exc.strerror or exc}).') from exc
    return list(_parse_registry(str(path), mtime_ns))


@functools.lru_cache(maxsize=8)
def _parse_registry(path: str, mtime_ns: int) -> tuple[ModelSpec, ...]:
    # Cached because the Blender UI lists models while drawing; mtime_ns is part of the key, unused here.
    name = Path(path).name
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f'The model registry "{name}" cannot be read ({exc}).') from exc
    return tuple(_spec_from_entry(entry, name) for entry in data.get("model", []))


def list_models() -> list[ModelSpec]:
    """The models of the bundled registry, the default first."""
    models = load_registry()
    return sorted(models, key=lambda spec: spec.id != DEFAULT_MODEL_ID)


def get_model(model_id: str | None = None) -> ModelSpec:
    model_id = model_id or DEFAULT_MODEL_ID
    for spec in list_models():
        if spec.id == model_id:
            return spec
    known = ", ".join(spec.id for spec in list_models())
    raise ModelError(f'There is no model "{model_id}" in the registry (known models: {known}).')


def _custom_settings(path: Path, metadata: dict[str, str]) -> dict:
    """Normalisation settings of a custom model: sidecar JSON over ONNX metadata (see the module docstring)."""
    settings = {k: v for k, v in metadata.items() if k in CUSTOM_MODEL_KEYS}
    sidecar = path.with_name(path.name + ".json")
    if sidecar.is_file():
        try:
            sidecar_settings = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(f'The sidecar "{sidecar.name}" is not valid JSON ({exc}).') from exc
        if not isinstance(sidecar_settings, dict):
            raise ModelError(f'The sidecar "{sidecar.name}" must hold a JSON object.')
        settings.update({k: v for k, v in sidecar_settings.items() if k in CUSTOM_MODEL_KEYS})
    return settings


def custom_model(path, metadata: dict[str, str] | None = None) -> ModelSpec:
    """A ModelSpec for a user-supplied .onnx file, given its ONNX metadata_props (onnxruntime reads them).

    The input size is left dynamic here; the engine takes it from the graph when the graph fixes it.
    """
    path = Path(path)
    settings = _custom_settings(path, metadata or {})
    source = f'"{path.name}"'
    try:
        spec = ModelSpec(
            id=path.stem,
            name=path.name,
            file_name=path.name,
            sha256=None,
            url="",
            license="",
            input_size=None,
            multiple_of=int(settings.get("multiple_of", DEFAULT_MULTIPLE_OF)),
            max_size=int(settings.get("max_size", DEFAULT_MAX_SIZE)),
            mean=_triple(settings.get("mean", IMAGENET_MEAN), "mean", source),
            std=_triple(settings.get("std", IMAGENET_STD), "std", source),
            output_kind=str(settings.get("output_kind", "INVERSE")).upper(),
        )
    except ValueError as exc:
        raise ModelError(f"{source}: multiple_of and max_size must be whole numbers ({exc}).") from exc
    if spec.output_kind not in OUTPUT_KINDS:
        raise ModelError(f"{source}: output_kind {spec.output_kind!r} is not one of {OUTPUT_KINDS}.")
    return spec
