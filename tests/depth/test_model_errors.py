"""onnxruntime's error texts reduced to one readable clause (the corpus runs the real failures end to end)."""

import logging

import pytest

from addon.depth import ModelError
from addon.depth.inference import load_session, onnxruntime_reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # A 0-byte file, as onnxruntime 1.23 words it (cut off at 200 characters before this issue).
        (
            "[ONNXRuntimeError] : 1 : FAIL : Load model from /m/empty.onnx failed:/onnxruntime_src/onnxruntime/core/"
            "graph/model.cc:166 onnxruntime::Model::Model(onnx::ModelProto&&, const onnxruntime::PathString&, const "
            "onnxruntime::logging::Logger&, const onnxruntime::ModelOptions&) ModelProto does not have a graph.\n",
            "the file holds no model graph, so it is damaged or not an ONNX model",
        ),
        (
            "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from C:\\m\\x.onnx failed:Protobuf parsing failed.",
            "the file is not an ONNX model, or it is damaged or incompletely downloaded",
        ),
        # A provider failing at run time (DirectML's text, Windows paths and a signature without arguments).
        (
            "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running Conv node. "
            "Name:'/conv' Status Message: D:\\a\\_work\\1\\s\\onnxruntime\\core\\providers\\dml\\"
            "MLOperatorAuthorImpl.cpp:2557 onnxruntime::MLOperatorAuthorImpl::AbiOpKernel::Compute The parameter is "
            "incorrect.",
            "its Conv node failed: The parameter is incorrect",
        ),
        (
            "/onnxruntime_src/onnxruntime/core/session/inference_session.cc:2000 onnxruntime::common::Status "
            "onnxruntime::InferenceSession::Initialize() Failed to allocate memory. Requested 1.2GB.",
            "Failed to allocate memory; Requested 1.2GB",
        ),
        (
            "/onnxruntime_src/onnxruntime/core/graph/model.cc:166 onnxruntime::Model::Model(onnx::ModelProto&&, cons",
            "RuntimeError",
        ),  # nothing meaningful left: the exception's type
    ],
)
def test_onnxruntime_text_is_reduced_to_its_meaning(text, reason):
    assert onnxruntime_reason(RuntimeError(text)) == reason


def test_unusable_model_is_logged_in_full_for_bug_reports(tmp_path, caplog):
    model = tmp_path / "download.onnx"
    model.write_bytes(b"<html>Too many requests</html>")
    with caplog.at_level(logging.ERROR), pytest.raises(ModelError) as raised:
        load_session(model, "CPU")
    assert str(raised.value) == (
        '"download.onnx" is not a usable ONNX model (the file is not an ONNX model, or it '
        "is damaged or incompletely downloaded)."
    )
    assert "INVALID_PROTOBUF" in caplog.text and str(model) in caplog.text
