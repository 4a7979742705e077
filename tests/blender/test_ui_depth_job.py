"""The worker-thread machinery behind the operators' non-blocking UI mode, driven without a window."""

import time

import numpy as np
import pytest
from PIL import Image

from addon import depth
from addon.depth import CancelledError, ImageError
from addon.depth.jobs import DepthJob, DepthRequest

# Generous: only guards against a hung worker, never measures speed.
JOB_TIMEOUT_SECONDS = 60


@pytest.fixture
def photo_path(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(np.linspace(0, 255, 24 * 32 * 3).astype(np.uint8).reshape(24, 32, 3)).save(path)
    return path


def poll_until_done(job):
    """What the modal timer does: look at the job now and then until it is done."""
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while not job.done:
        assert time.monotonic() < deadline, "the depth job hung"
        time.sleep(0.01)
    return job


def test_job_runs_the_request_in_a_worker_thread(photo_path, tiny_model_path):
    request = DepthRequest(str(photo_path), model_path=str(tiny_model_path), device="CPU")
    runs = depth.inference_run_count()

    job = poll_until_done(DepthJob(request).start())

    result = job.result()
    assert depth.inference_run_count() == runs + 1
    assert result.kind == "INVERSE" and result.photo_size == (32, 24)
    assert job.fraction == 1.0
    assert np.allclose(result.depth, request.run().depth)


def test_cancelled_job_raises_cancelled_error(photo_path, tiny_model_path):
    job = DepthJob(DepthRequest(str(photo_path), model_path=str(tiny_model_path)))
    job.cancel()  # Esc pressed before the worker's first check
    assert job.cancelled

    poll_until_done(job.start())

    with pytest.raises(CancelledError, match=r"photo\.png"):
        job.result()


def test_worker_error_is_raised_in_the_polling_thread(tmp_path, tiny_model_path):
    request = DepthRequest(str(tmp_path / "missing.png"), model_path=str(tiny_model_path))
    job = poll_until_done(DepthJob(request).start())

    with pytest.raises(ImageError, match=r"missing\.png"):
        job.result()


def test_request_with_depth_file_reads_it_instead_of_running_a_model(photo_path, tmp_path):
    depth_file = tmp_path / "depth.npy"
    np.save(depth_file, np.full((12, 16), 3.0, dtype=np.float32))
    runs = depth.inference_run_count()

    result = DepthRequest(str(photo_path), depth_path=str(depth_file), depth_kind="DEPTH").run()

    assert depth.inference_run_count() == runs
    assert result.kind == "DEPTH" and result.model_id == "file" and result.photo_size == (32, 24)
    assert np.allclose(result.depth, 3.0)
