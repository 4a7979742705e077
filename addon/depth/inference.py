"""onnxruntime sessions: provider choice, a cache per (model file, device), graph checks and run counting.

onnxruntime is imported on first use, never at import time, so that registering the add-on stays instant and
works even where onnxruntime is missing (the error then comes when a model is needed, naming the problem).
"""

import contextlib
import logging
import platform
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

DEVICES = ("AUTO", "CPU", "CUDA")
CUDA = "CUDAExecutionProvider"
DIRECTML = "DmlExecutionProvider"
COREML = "CoreMLExecutionProvider"
CPU = "CPUExecutionProvider"
# What "AUTO" tries, in order, before the CPU: NVIDIA through CUDA (the cuda packages), any DirectX 12 GPU on
# Windows through DirectML and Apple's GPU and Neural Engine through CoreML (the default packages carry them).
AUTO_ACCELERATORS = (CUDA, DIRECTML, COREML)
# The accelerator the default package of each system carries (platform.system() names), and why it may not
# start; Linux's default package is CPU-only by design, so it has no entry and "AUTO" on it warns of nothing.
_DEFAULT_ACCELERATOR = {"Windows": DIRECTML, "Darwin": COREML}
_START_FAILURES = {
    CUDA: "no NVIDIA GPU, or its libraries such as CUDA/cuDNN are missing",
    DIRECTML: "no DirectX 12 GPU, or its driver is too old",
    COREML: "CoreML cannot run this model on this Mac",
}
_NAMES = {CUDA: "CUDA", DIRECTML: "DirectML", COREML: "CoreML", CPU: "the CPU"}

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_sessions: dict[tuple, "LoadedSession"] = {}
_run_count = 0
_dlls_preloaded = False


@dataclass(frozen=True)
class LoadedSession:
    session: object  # onnxruntime.InferenceSession
    input_name: str
    input_shape: tuple  # ints, or None for dynamic dimensions (N, C, H, W)
    output_name: str
    provider: str  # the execution provider that actually runs the model
    warning: str  # one sentence when the requested device could not be used, else ""
    metadata: dict[str, str]  # the model's ONNX metadata_props

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """(width, height) when the graph fixes the input size, else None."""
        height, width = self.input_shape[2], self.input_shape[3]
        return (width, height) if isinstance(height, int) and isinstance(width, int) else None


def inference_run_count() -> int:
    """How many times a network has run in this process (tests use it to prove live edits do not re-run it)."""
    return _run_count


def _import_onnxruntime():
    global _dlls_preloaded
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"onnxruntime cannot be imported ({exc}); depth estimation needs it.") from exc
    wants_cuda = CUDA in onnxruntime.get_available_providers()
    if not _dlls_preloaded and wants_cuda and hasattr(onnxruntime, "preload_dlls"):
        # Loads CUDA/cuDNN from the nvidia-* wheels into this process when they are installed (ORT >= 1.21).
        # Only for CUDA builds: a CPU build prints a warning when asked.
        # Without the CUDA wheels this fails: the CPU provider still works and the session reports the fallback.
        with contextlib.suppress(Exception):
            onnxruntime.preload_dlls()
        _dlls_preloaded = True
    return onnxruntime


def provider_plan(available, device: str, system: str | None = None) -> tuple[list[str], str]:
    """Providers to ask onnxruntime for, in order, and the warning to give when the device asked for cannot be
    used at all with this build. `available` is onnxruntime.get_available_providers(), `system` defaults to
    platform.system()."""
    system = platform.system() if system is None else system
    if device == "CPU":
        return [CPU], ""
    if device == "CUDA":
        if CUDA in available:
            return [CUDA, CPU], ""
        return [CPU], "CUDA was requested but this onnxruntime build has no CUDA provider, so the CPU ran the model."
    accelerators = [provider for provider in AUTO_ACCELERATORS if provider in available]
    expected = _DEFAULT_ACCELERATOR.get(system)
    if not accelerators and expected is not None:
        return [CPU], f"This onnxruntime build has no {_NAMES[expected]} provider, so the CPU ran the model."
    return [*accelerators, CPU], ""


def fallback_warning(requested: str, reason: str = "") -> str:
    """One sentence saying why the accelerator `requested` did not run the model (onnxruntime's `reason` when
    it gave one, else the usual causes)."""
    reason = reason or _START_FAILURES.get(requested, "no usable device")
    return f"{_NAMES.get(requested, _short(requested))} could not start ({reason}), so the CPU ran the model."


def _check_graph(path: Path, session) -> tuple:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelError(f'"{path.name}" has {len(inputs)} inputs; a depth model takes exactly one image.')
    shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
    if len(shape) != 4 or shape[1] not in (3, None) or shape[0] not in (1, None):
        raise ModelError(
            f'"{path.name}" takes input of shape {list(inputs[0].shape)}; a depth model takes one RGB image '
            "shaped [1, 3, height, width]."
        )
    if inputs[0].type != "tensor(float)":
        raise ModelError(f'"{path.name}" takes {inputs[0].type} input; only float32 models are supported.')
    out_shape = outputs[0].shape
    # Accept [H, W], [1, H, W] or [1, 1, H, W]; anything with more planes is not a single depth map.
    leading = list(out_shape[:-2])
    if len(out_shape) not in (2, 3, 4) or any(isinstance(d, int) and d != 1 for d in leading):
        raise ModelError(
            f'"{path.name}" returns output of shape {list(out_shape)}; a depth model returns one depth plane '
            "shaped [1, height, width] or [1, 1, height, width]."
        )
    return shape


def accelerator_available(device: str = "AUTO") -> bool:
    """Whether `device` would run on something other than the CPU provider (as far as the build tells)."""
    if device == "CPU":
        return False
    available = _import_onnxruntime().get_available_providers()
    wanted = (CUDA,) if device == "CUDA" else AUTO_ACCELERATORS
    return any(provider in available for provider in wanted)


def load_session(path, device: str = "AUTO", threads: int | None = None) -> LoadedSession:
    """The cached session for this model file, device and CPU thread count (None: onnxruntime's default,
    one per core). Re-created when the file changes on disk."""
    if device not in DEVICES:
        raise ModelError(f"Unknown device {device!r}; use one of {', '.join(DEVICES)}.")
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f'The model file "{path.name}" cannot be read ({exc.strerror or exc}).') from exc
    if stat.st_size == 0:
        raise ModelError(f'The model file "{path.name}" is empty (0 bytes); download or export it again.')
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, device, threads)
    with _lock:
        cached = _sessions.get(key)
    if cached is not None:
        return cached
    onnxruntime = _import_onnxruntime()
    providers, warning = provider_plan(onnxruntime.get_available_providers(), device)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: provider fallbacks are reported through `warning`
    if threads is not None:
        options.intra_op_num_threads = threads
        # Several sessions share the cores in the batch tool: idle threads must sleep, not spin.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = _create_session(onnxruntime, path, options, providers)
    except Exception as exc:  # an accelerator that cannot start: the CPU may still run the model
        if providers == [CPU]:
            raise _unusable_model(path, exc) from exc
        try:
            session = _create_session(onnxruntime, path, options, [CPU])
        except Exception as cpu_exc:
            raise _unusable_model(path, cpu_exc) from cpu_exc
        _log.warning("%s could not start for %s: %s", providers[0], path, exc)
        warning = fallback_warning(providers[0], onnxruntime_reason(exc))
    shape = _check_graph(path, session)
    provider = session.get_providers()[0]
    if not warning and provider != providers[0]:
        # onnxruntime falls back to the CPU by itself when e.g. the CUDA libraries or the GPU are missing.
        warning = fallback_warning(providers[0])
    loaded = LoadedSession(
        session=session,
        input_name=session.get_inputs()[0].name,
        input_shape=shape,
        output_name=session.get_outputs()[0].name,
        provider=provider,
        warning=warning,
        metadata=dict(session.get_modelmeta().custom_metadata_map),
    )
    with _lock:
        # Drop sessions of an older version of the same file and device, so edits do not leak memory.
        for old in [k for k in _sessions if k[0] == key[0] and k[3:] == key[3:]]:
            del _sessions[old]
        _sessions[key] = loaded
    return loaded


def _create_session(onnxruntime, path: Path, options, providers: list[str]):
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)


def _unusable_model(path: Path, exc: Exception) -> ModelError:
    """One sentence naming the file; onnxruntime's full text goes to the console for bug reports."""
    _log.error("onnxruntime could not load %s: %s", path, exc)
    return ModelError(f'"{path.name}" is not a usable ONNX model ({onnxruntime_reason(exc)}).')


# What onnxruntime wraps around its message: the status code, the file it loaded, and the C++ source file and
# line followed by the function's signature, e.g. ".../graph/model.cc:166 onnxruntime::Model::Model(...) ".
_STATUS_PREFIX = re.compile(r"\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*")
_LOAD_PREFIX = re.compile(r"Load model from .*? failed:\s*")
_SOURCE_LOCATION = re.compile(r"\S+\.(?:cc|cpp|cu|h|hpp|mm):\d+\s+")
_SIGNATURE = re.compile(r"(?:[\w:<>,*&]+\s+)?[\w:~<>]*::[\w~<>]+")
_NODE_FAILURE = re.compile(r"Non-zero status code returned while running (\w+) node\. Name:'[^']*' Status Message:\s*")
_ENFORCED_CONDITION = re.compile(r"(?<=: )[^.:;]*? was false\.\s*")
_SENTENCE_BREAK = re.compile(r"\.\s+(?=[A-Z])")
# onnxruntime's terse texts, said in a user's words.
_PLAIN_REASONS = {
    "Protobuf parsing failed": "the file is not an ONNX model, or it is damaged or incompletely downloaded",
    "ModelProto does not have a graph": "the file holds no model graph, so it is damaged or not an ONNX model",
}
_MAX_REASON_LENGTH = 300


def onnxruntime_reason(exc: Exception) -> str:
    """The meaningful part of an onnxruntime exception's text, on one line, without status codes, paths of
    onnxruntime's own sources or C++ signatures."""
    text = _LOAD_PREFIX.sub("", _STATUS_PREFIX.sub("", str(exc)))
    while (location := _SOURCE_LOCATION.search(text)) is not None:
        text = text[: location.start()] + _skip_signature(text, location.end())
    text = _NODE_FAILURE.sub(r"its \1 node failed: ", " ".join(text.split()))
    # One sentence: onnxruntime's internal assertion goes, its own sentences are joined.
    text = _SENTENCE_BREAK.sub("; ", _ENFORCED_CONDITION.sub("", text)).rstrip(".")
    for terse, plain in _PLAIN_REASONS.items():
        if text.startswith(terse):
            return plain
    if len(text) > _MAX_REASON_LENGTH:
        text = text[:_MAX_REASON_LENGTH].rsplit(" ", 1)[0] + "..."
    return text or exc.__class__.__name__


def _skip_signature(text: str, start: int) -> str:
    """`text` from `start` without a leading C++ signature: "[return type] qualified::name[(arguments)]"."""
    rest = text[start:]
    signature = _SIGNATURE.match(rest)
    if signature is None:
        return rest
    rest = rest[signature.end() :]
    depth = 0
    for index, character in enumerate(rest):  # the arguments, when there are any, up to the matching ")"
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0:
            return rest[index + (1 if index else 0) :].lstrip()
    return ""  # cut off inside the arguments


def _short(provider: str) -> str:
    """ "CUDAExecutionProvider" -> "CUDA"."""
    return provider.removesuffix("ExecutionProvider")


def run(loaded: LoadedSession, tensor: np.ndarray, model_name: str) -> np.ndarray:
    """One forward pass; returns the output squeezed to HxW float32."""
    global _run_count
    with _lock:
        _run_count += 1
    try:
        (output,) = loaded.session.run([loaded.output_name], {loaded.input_name: tensor})
    except Exception as exc:
        _log.error("onnxruntime failed running %s on %s: %s", model_name, loaded.provider, exc)
        raise ModelError(
            f'"{model_name}" failed while running on {_short(loaded.provider)} ({onnxruntime_reason(exc)}).'
        ) from exc
    output = np.asarray(output, dtype=np.float32)
    while output.ndim > 2 and output.shape[0] == 1:
        output = output[0]
    if output.ndim != 2:
        raise ModelError(f'"{model_name}" returned output of shape {list(output.shape)}; expected one depth plane.')
    return output
