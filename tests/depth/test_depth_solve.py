"""tools/depth_solve.py as a user runs it: a subprocess on a folder of good and bad photos."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from addon.depth import load_depth_file
from addon.depth.images import collect_photos, photo_suffixes

from .helpers import REPO_ROOT, png_header_only, run_depth_solve, save_jpeg, split_photo

GOOD = ["a.jpg", "b.jpg", "ünïcødé 写真.jpg"]


@pytest.fixture
def mixed_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in GOOD:
        save_jpeg(folder / name, split_photo(200, 120))
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (folder / "empty.png").write_bytes(b"")
    png_header_only(folder / "huge.png", 30000, 30000)
    (folder / "readme.txt").write_text("not an image, and not picked up from a folder")
    (folder / "nested").mkdir()
    save_jpeg(folder / "nested" / "deeper.jpg", split_photo(64, 64))  # folders are not searched recursively
    return folder


def test_mixed_folder_writes_good_lists_bad_and_exits_1(tmp_path, mixed_folder, tiny_model_path):
    out = tmp_path / "depth"
    run = run_depth_solve(mixed_folder, "--out", out, "--model-file", tiny_model_path)
    assert run.returncode == 1, run.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(name.rsplit(".", 1)[0] + ".png" for name in GOOD)
    failures = [line for line in run.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 3
    for bad in ("corrupt.jpg", "empty.png", "huge.png"):
        assert sum(bad in line for line in failures) == 1
    assert "3 depth maps written" in run.stdout and "3 inputs failed" in run.stdout
    depth = load_depth_file(out / "a.png")
    assert depth.shape == (120, 200) and depth[:, :90].max() < 0.05 and depth[:, 110:].min() > 0.95


def test_existing_outputs_are_kept_without_overwrite(tmp_path, mixed_folder, tiny_model_path):
    out = tmp_path / "depth"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    good_only = [mixed_folder / name for name in GOOD]
    run = run_depth_solve(*good_only, "--out", out, "--model-file", tiny_model_path)
    assert run.returncode == 1
    assert (out / "a.png").read_bytes() == b"keep me"
    assert "already exists" in run.stderr and "--overwrite" in run.stderr
    run = run_depth_solve(*good_only, "--out", out, "--model-file", tiny_model_path, "--overwrite")
    assert run.returncode == 0, run.stderr
    assert load_depth_file(out / "a.png").shape == (120, 200)
    assert sorted(p.name for p in out.iterdir()) == sorted(n.rsplit(".", 1)[0] + ".png" for n in GOOD)


@pytest.mark.parametrize("fmt", ["exr", "npy"])
def test_float_formats_and_dynamic_model(tmp_path, mixed_folder, test_models_dir, fmt):
    out = tmp_path / "depth"
    run = run_depth_solve(
        mixed_folder / "a.jpg",
        "--out",
        out,
        "--model-file",
        test_models_dir / "tiny_dynamic.onnx",
        "--format",
        fmt,
        "--jobs",
        "1",
    )
    assert run.returncode == 0, run.stderr
    depth = load_depth_file(out / f"a.{fmt}")
    assert depth.dtype == np.float32 and depth.shape == (120, 200)


def test_same_output_name_twice_fails_the_second(tmp_path, tiny_model_path):
    save_jpeg(tmp_path / "x.jpg", split_photo(64, 64))
    shutil.copy(tmp_path / "x.jpg", tmp_path / "x.jpeg")
    run = run_depth_solve(
        tmp_path / "x.jpg", tmp_path / "x.jpeg", "--out", tmp_path / "out", "--model-file", tiny_model_path
    )
    assert run.returncode == 1
    assert "which \"x.jpg\" also writes" in run.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.png"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal_only(tmp_path, mixed_folder, tiny_model_path):
    import pty

    controller, terminal = pty.openpty()
    args = [
        sys.executable,
        str(REPO_ROOT / "tools" / "depth_solve.py"),
        str(mixed_folder / "a.jpg"),
        "--out",
        str(tmp_path / "out"),
        "--model-file",
        str(tiny_model_path),
    ]
    with subprocess.Popen(args, stderr=terminal, stdout=subprocess.DEVNULL, cwd=REPO_ROOT) as process:
        os.close(terminal)
        assert process.wait(timeout=120) == 0
    shown = os.read(controller, 4096).decode()
    os.close(controller)
    assert "[##############################] 1/1 a.jpg" in shown
    piped = run_depth_solve(mixed_folder / "a.jpg", "--out", tmp_path / "out2", "--model-file", tiny_model_path)
    assert "[#" not in piped.stderr


def test_usage_errors_exit_2(tmp_path, tiny_model_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_depth_solve(empty, "--out", tmp_path / "out", "--model-file", tiny_model_path).returncode == 2
    assert run_depth_solve(empty, "--out", tmp_path / "out", "--format", "jpg").returncode == 2
    assert run_depth_solve("--out", tmp_path / "out").returncode == 2
    assert run_depth_solve(empty, "--out", tmp_path / "out", "--jobs", "0").returncode == 2
    save_jpeg(tmp_path / "x.jpg", split_photo(64, 64))
    run = run_depth_solve(tmp_path / "x.jpg", "--out", tmp_path / "out", "--models-dir", empty)
    assert run.returncode == 2 and "not installed" in run.stderr
    assert not (tmp_path / "out").exists()


def test_output_that_would_replace_an_input_photo_is_refused(tmp_path, tiny_model_path):
    save_jpeg(tmp_path / "keep.jpg", split_photo(64, 64))
    photo = tmp_path / "keep.png"
    photo.write_bytes((tmp_path / "keep.jpg").read_bytes())  # a photo whose depth map would share its name
    before = photo.read_bytes()
    run = run_depth_solve(photo, "--out", tmp_path, "--model-file", tiny_model_path, "--overwrite")
    assert run.returncode == 1
    assert "would replace an input photo" in run.stderr
    assert photo.read_bytes() == before


def test_folder_scan_takes_every_format_pillow_decodes(tmp_path):
    """The batch tool's and the video command line's folder scan."""
    suffixes = photo_suffixes()
    assert {".gif", ".jpg", ".png", ".tif", ".webp", ".exr", ".bmp", ".tga"} <= suffixes
    assert not {".grib", ".h5", ".bufr", ".wmf", ".mpg"} & suffixes  # Pillow reads only their headers
    for name in ("a.gif", "b.JPG", "notes.txt", "c.qoi"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in collect_photos([str(tmp_path)])] == ["a.gif", "b.JPG", "c.qoi"]
