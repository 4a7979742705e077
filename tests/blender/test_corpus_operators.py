"""The bad-input corpus (tests/corpus/make_corpus.py) through the add operator and Re-estimate.

Every damaged file: one clear sentence naming it, nothing added to bpy.data, the input folder untouched.
Every legitimate photo: an object whose material shows the pixels the depth engine decoded (never a
pink, black or half-grey photo). A new bug report is a new row in a table of make_corpus.py.
"""

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from geometry_helpers import datablock_counts, evaluated_positions

from addon.depth import load_photo
from addon.depth.images import srgb_to_linear
from addon.photo_object import depth_image, image_pixels, photo_image
from tests.corpus import make_corpus
from tests.depth.test_corpus import assert_one_sentence_naming, depth_file_like, folder_fingerprint, ids

pytestmark = pytest.mark.blender


def run_refused(operator, file_name, pattern, **arguments):
    """Run the operator expecting its one-sentence error; nothing may be added to bpy.data."""
    before = datablock_counts()
    with pytest.raises(RuntimeError) as raised:
        operator(**arguments)
    assert datablock_counts() == before
    assert_one_sentence_naming(str(raised.value).strip().removeprefix("Error: "), file_name, pattern)


def assert_shows_photo(obj, photo):
    """The object's material shows the photo's pixels as Pillow decodes them (EXIF orientation applied)."""
    image = photo_image(obj)
    expected = load_photo(photo).astype(np.float32) / 255.0
    assert tuple(image.size) == (expected.shape[1], expected.shape[0])
    shown = image_pixels(image)[..., :3]
    if image.is_float:
        expected = srgb_to_linear(expected)
    assert np.abs(shown - expected).mean() < 0.02


@pytest.mark.parametrize("entry", make_corpus.PHOTOS, ids=ids(make_corpus.PHOTOS))
@pytest.mark.parametrize("source", ["model", "depth file"])
def test_add_photo(factory_scene, corpus, model, tmp_path, entry, source):
    photo = corpus["photos"] / entry.name
    before = folder_fingerprint(corpus["photos"])
    arguments = {"filepath": str(photo), "add_camera": False}
    if source == "model":
        arguments["model_filepath"] = str(model)
    else:
        arguments["depth_filepath"] = str(depth_file_like(photo, tmp_path))
    if entry.error is not None:
        run_refused(bpy.ops.mesh.monocular_photo_add, entry.name, entry.error, **arguments)
    else:
        assert bpy.ops.mesh.monocular_photo_add(**arguments) == {"FINISHED"}
        assert_shows_photo(bpy.context.active_object, photo)
    assert folder_fingerprint(corpus["photos"]) == before


@pytest.mark.parametrize("entry", make_corpus.DEPTHS, ids=ids(make_corpus.DEPTHS))
def test_add_with_depth_file(factory_scene, corpus, entry):
    before = folder_fingerprint(corpus["depth"])
    arguments = {
        "filepath": str(corpus["photos"] / make_corpus.DEPTH_PHOTO),
        "depth_filepath": str(corpus["depth"] / entry.name),
        "depth_kind": entry.kind,
        "add_camera": False,
    }
    if entry.error is not None:
        run_refused(bpy.ops.mesh.monocular_photo_add, entry.name, entry.error, **arguments)
    else:
        assert bpy.ops.mesh.monocular_photo_add(**arguments) == {"FINISHED"}
        obj = bpy.context.active_object
        values = image_pixels(depth_image(obj))[..., 0]
        assert np.isfinite(values).all() and (entry.kind == "INVERSE" or values.min() > 0)
        # The whole mesh in front of its camera, which looks down the object's -Z.
        positions = evaluated_positions(obj)
        assert len(positions) and np.isfinite(positions).all() and positions[:, 2].max() < 0
    assert folder_fingerprint(corpus["depth"]) == before


@pytest.mark.parametrize("entry", make_corpus.MODELS, ids=ids(make_corpus.MODELS))
@pytest.mark.parametrize("operator", ["add", "re-estimate"])
def test_model(factory_scene, corpus, entry, operator):
    photo = corpus["photos"] / make_corpus.DEPTH_PHOTO
    before = folder_fingerprint(corpus["models"])
    model_path = str(corpus["models"] / entry.name)
    if operator == "add":
        run = bpy.ops.mesh.monocular_photo_add
        arguments = {"filepath": str(photo), "model_filepath": model_path, "add_camera": False}
    else:
        bpy.ops.mesh.monocular_photo_add(
            filepath=str(photo), depth_filepath=str(corpus["depth"] / "inverse.npy"), add_camera=False
        )
        run = bpy.ops.object.monocular_photo_reestimate
        arguments = {"model_filepath": model_path}
    if entry.error is not None:
        run_refused(run, entry.name, entry.error, **arguments)
    else:
        assert run(**arguments) == {"FINISHED"}
        values = image_pixels(depth_image(bpy.context.active_object))[..., 0]
        assert np.isfinite(values).all() and values.max() > values.min()
    assert folder_fingerprint(corpus["models"]) == before
