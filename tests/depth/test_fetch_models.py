"""tools/release/fetch_models.py against a loopback HTTP server (127.0.0.1 only): download, resume, hash checks."""

import hashlib
import http.server
import os
import threading

import pytest

from tests.tool_scripts import load_tool

fetch_models = load_tool("release/fetch_models")

PAYLOAD = os.urandom(300_000)
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class ModelServer(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at any path, honours Range, and can cut the first responses short."""

    cut_next = 0  # how many upcoming full responses stop half way
    honour_range = True
    ranges: list = []

    def do_GET(self):
        start = 0
        header = self.headers.get("Range")
        type(self).ranges.append(header)
        if header and self.honour_range:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).cut_next:
            type(self).cut_next -= 1
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    ModelServer.cut_next, ModelServer.honour_range, ModelServer.ranges = 0, True, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelServer)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _registry(tmp_path, url, sha256):
    path = tmp_path / "registry.toml"
    pin = f'sha256 = "{sha256}"\n' if sha256 else ""
    path.write_text(
        '[[model]]\nid = "test_model"\nname = "Test"\nfile_name = "test_model.onnx"\n'
        f'url = "{url}/model.onnx"\nlicense = "MIT"\n{pin}'
    )
    return path


def _run(tmp_path, registry, *extra):
    return fetch_models.main(["--registry", str(registry), "--dest", str(tmp_path / "models"), *extra])


def test_download_is_verified_and_renamed_into_place(tmp_path, server, capsys):
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA)) == 0
    assert (tmp_path / "models" / "test_model.onnx").read_bytes() == PAYLOAD
    assert os.listdir(tmp_path / "models") == ["test_model.onnx"]
    assert "verified" in capsys.readouterr().out
    # A second run finds the verified file and downloads nothing.
    requests = len(ModelServer.ranges)
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA)) == 0
    assert len(ModelServer.ranges) == requests


def test_broken_connection_resumes_with_range(tmp_path, server):
    ModelServer.cut_next = 1
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA)) == 0
    assert ModelServer.ranges == [None, f"bytes={len(PAYLOAD) // 2}-"]
    assert (tmp_path / "models" / "test_model.onnx").read_bytes() == PAYLOAD


def test_partial_file_from_an_earlier_run_is_resumed(tmp_path, server):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "test_model.onnx.part").write_bytes(PAYLOAD[:1000])
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA)) == 0
    assert ModelServer.ranges == ["bytes=1000-"]
    assert (tmp_path / "models" / "test_model.onnx").read_bytes() == PAYLOAD


def test_server_without_range_support_restarts_the_download(tmp_path, server):
    ModelServer.honour_range = False
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "test_model.onnx.part").write_bytes(b"stale bytes from another file")
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA)) == 0
    assert (tmp_path / "models" / "test_model.onnx").read_bytes() == PAYLOAD


def test_installed_file_with_wrong_hash_is_replaced(tmp_path, server):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "test_model.onnx").write_bytes(b"corrupt model")
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA)) == 0
    assert (tmp_path / "models" / "test_model.onnx").read_bytes() == PAYLOAD


def test_bad_hash_deletes_the_download_and_fails(tmp_path, server, capsys):
    assert _run(tmp_path, _registry(tmp_path, server, "0" * 64)) == 1
    assert os.listdir(tmp_path / "models") == []
    assert "not the pinned" in capsys.readouterr().err


def test_giving_up_keeps_the_partial_file_for_next_time(tmp_path, server, capsys):
    ModelServer.cut_next = 5
    assert _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA), "--retries", "1") == 1
    assert os.listdir(tmp_path / "models") == ["test_model.onnx.part"]
    assert "run again to resume" in capsys.readouterr().err


def test_unpinned_model_is_kept_and_its_hash_printed(tmp_path, server, capsys):
    assert _run(tmp_path, _registry(tmp_path, server, None)) == 0
    assert f"UNPINNED, SHA-256 {PAYLOAD_SHA}" in capsys.readouterr().out


def test_unknown_id_is_a_usage_error(tmp_path, server):
    with pytest.raises(SystemExit) as exit_info:
        _run(tmp_path, _registry(tmp_path, server, PAYLOAD_SHA), "nope")
    assert exit_info.value.code == 2
