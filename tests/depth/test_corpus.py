"""The bad-input corpus (tests/corpus/make_corpus.py) through the depth engine and the batch tool.

Every damaged file gives one clear sentence naming it; every legitimate one gives a correct depth map; no
input file is ever modified. A new bug report is a new row in a table of make_corpus.py, not a new test here.
"""

import hashlib
import re

import numpy as np
import pytest

from addon.depth import DepthError, load_photo, read_photo_info
from addon.depth.images import block_means
from addon.depth.jobs import DepthRequest
from tests.corpus import make_corpus
from tests.tool_scripts import load_tool


def folder_fingerprint(folder):
    """{name: (mtime, SHA-256)} of every file: proves that nothing in the folder was touched."""
    return {p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in folder.iterdir()}


def assert_one_sentence_naming(message: str, file_name: str, pattern: str) -> None:
    assert f'"{file_name}"' in message, message
    assert re.search(pattern, message), message
    assert message.endswith(".") and "\n" not in message, message
    # No second sentence, and nothing of onnxruntime's internals.
    assert not re.search(r"\.\s+[A-Z]", message.replace(f'"{file_name}"', "")), message
    assert not re.search(r"\.(cc|cpp|h):\d+|onnxruntime::|\[ONNXRuntimeError\]", message), message


def assert_refused(request: DepthRequest, entry) -> None:
    """The request fails with the entry's one-sentence error naming its file."""
    with pytest.raises(DepthError) as raised:
        request.run()
    assert_one_sentence_naming(str(raised.value), entry.name, entry.error)


def depth_file_like(photo, folder):
    """A relative depth file of the photo's (oriented) aspect ratio, or of the corpus size when the photo is
    unreadable (its own error must then be the one reported)."""
    try:
        width, height = read_photo_info(photo).size
    except DepthError:
        width, height = make_corpus.PHOTO_SIZE
    path = folder / "depth.npy"
    np.save(path, np.tile(np.linspace(0.0, 1.0, width // 2, dtype=np.float32), (height // 2, 1)))
    return path


def ids(entries):
    return [entry.name for entry in entries]


@pytest.mark.parametrize("entry", make_corpus.PHOTOS, ids=ids(make_corpus.PHOTOS))
@pytest.mark.parametrize("source", ["model", "depth file"])
def test_photo(corpus, model, entry, source, tmp_path):
    photo = corpus["photos"] / entry.name
    before = folder_fingerprint(corpus["photos"])
    if source == "model":
        request = DepthRequest(str(photo), model_path=str(model))
    else:
        request = DepthRequest(str(photo), depth_path=str(depth_file_like(photo, tmp_path)))
    if entry.error is not None:
        assert_refused(request, entry)
    else:
        result = request.run()
        pixels = load_photo(photo)
        assert result.photo_size == (pixels.shape[1], pixels.shape[0])
        if source == "model":  # the tiny model's depth is the channel mean: bright where the photo is bright
            brightness = pixels.astype(np.float32).mean(axis=2, keepdims=True)
            coarse_photo = block_means(brightness, (12, 8)).ravel()
            coarse_depth = block_means(result.depth[:, :, None], (12, 8)).ravel()
            assert np.corrcoef(coarse_photo, coarse_depth)[0, 1] > 0.95
    assert folder_fingerprint(corpus["photos"]) == before


def test_corrupt_photo_pixels_are_never_returned(corpus):
    """The PNG whose compressed data is corrupt used to come back as black pixels."""
    with pytest.raises(DepthError, match="corrupt or truncated"):
        load_photo(corpus["photos"] / "corrupt_data.png")


@pytest.mark.parametrize("entry", make_corpus.DEPTHS, ids=ids(make_corpus.DEPTHS))
def test_depth_file(corpus, entry):
    photo = corpus["photos"] / make_corpus.DEPTH_PHOTO
    before = folder_fingerprint(corpus["depth"])
    request = DepthRequest(str(photo), depth_path=str(corpus["depth"] / entry.name), depth_kind=entry.kind)
    if entry.error is not None:
        assert_refused(request, entry)
    else:
        result = request.run()
        depth = result.depth
        assert depth.ndim == 2 and np.isfinite(depth).all()
        if entry.kind == "DEPTH":
            assert depth.min() > 0
        # Always the photo's aspect: never a squashed mesh.
        photo_width, photo_height = result.photo_size
        assert abs(depth.shape[0] - depth.shape[1] * photo_height / photo_width) <= 1.0
        assert (depth.max() == depth.min()) == (entry.warning == "flat")
        if entry.warning is None:
            assert not result.warning
        else:  # one sentence naming the file
            assert re.search(entry.warning, result.warning) and f'"{entry.name}"' in result.warning, result.warning
    assert folder_fingerprint(corpus["depth"]) == before


@pytest.mark.parametrize("entry", make_corpus.MODELS, ids=ids(make_corpus.MODELS))
def test_model(corpus, entry):
    photo = corpus["photos"] / make_corpus.DEPTH_PHOTO
    before = folder_fingerprint(corpus["models"])
    request = DepthRequest(str(photo), model_path=str(corpus["models"] / entry.name))
    if entry.error is not None:
        assert_refused(request, entry)
    else:
        assert np.isfinite(request.run().depth).all()
    assert folder_fingerprint(corpus["models"]) == before


def test_batch_tool_reports_each_corrupt_photo_and_writes_nothing_for_it(corpus, model, tmp_path, capsys):
    depth_solve = load_tool("depth_solve")
    before = folder_fingerprint(corpus["photos"])
    out = tmp_path / "out"

    status = depth_solve.main([str(corpus["photos"]), "--out", str(out), "--model-file", str(model)])

    assert status == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed: ")]
    written = {path.name for path in out.iterdir()}
    for entry in make_corpus.PHOTOS:
        lines = [line for line in failures if f'"{entry.name}"' in line]
        if entry.error is None:
            assert not lines and f"{entry.name.rsplit('.', 1)[0]}.png" in written, entry.name
        else:
            assert len(lines) == 1, (entry.name, failures)
            assert_one_sentence_naming(lines[0].removeprefix("failed: "), entry.name, entry.error)
            assert f"{entry.name.rsplit('.', 1)[0]}.png" not in written, entry.name
    assert len(failures) == sum(entry.error is not None for entry in make_corpus.PHOTOS)
    assert folder_fingerprint(corpus["photos"]) == before
