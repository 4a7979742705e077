"""Write tiny ONNX depth "models" with known outputs, for tests (the real weights cannot be downloaded here).

    python tools/make_test_model.py --out DIR

Every model takes a normalised NCHW float32 image and returns the mean of its three channels, so a brighter
pixel comes out as a larger value, i.e. "nearer" in relative inverse depth. The files carry their
normalisation in ONNX metadata (mean = 0, std = 1: the network sees RGB in 0..1), so tests can predict the
depth map exactly. Variants cover fixed and dynamic input sizes and the broken models the engine must refuse.
Built with onnx.helper only: no torch needed.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# onnxruntime 1.23 reads IR version 10 / opset 17 everywhere; pinning both keeps the files stable.
OPSET = 17
IR_VERSION = 9
FIXED_SIZE = 64
IDENTITY_NORMALISATION = {"mean": "0,0,0", "std": "1,1,1"}


def _channel_mean(x: str, out: str) -> onnx.NodeProto:
    return helper.make_node("ReduceMean", [x], [out], axes=[1], keepdims=0)


def _model(name: str, nodes, inputs, outputs, initializers=(), metadata=None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_test_model")
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model


def _image_input(height, width, channels=3) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, channels, height, width])


def _depth_output(*shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("depth", TensorProto.FLOAT, list(shape))


def tiny_fixed() -> onnx.ModelProto:
    """Fixed 64x64 input, output [1, 64, 64] = channel mean."""
    return _model(
        "tiny_fixed",
        [_channel_mean("image", "depth")],
        [_image_input(FIXED_SIZE, FIXED_SIZE)],
        [_depth_output(1, FIXED_SIZE, FIXED_SIZE)],
        metadata=IDENTITY_NORMALISATION,
    )


def tiny_dynamic() -> onnx.ModelProto:
    """Dynamic input (keep aspect, multiple of 14, longer side <= 140), output [1, 1, H, W] = channel mean."""
    return _model(
        "tiny_dynamic",
        [helper.make_node("ReduceMean", ["image"], ["depth"], axes=[1], keepdims=1)],
        [_image_input("height", "width")],
        [_depth_output(1, 1, "height", "width")],
        metadata={**IDENTITY_NORMALISATION, "multiple_of": "14", "max_size": "140"},
    )


def nan_output() -> onnx.ModelProto:
    """Every output value is NaN."""
    nan = numpy_helper.from_array(np.array(np.nan, dtype=np.float32), "nan")
    return _model(
        "nan_output",
        [_channel_mean("image", "mean"), helper.make_node("Mul", ["mean", "nan"], ["depth"])],
        [_image_input(FIXED_SIZE, FIXED_SIZE)],
        [_depth_output(1, FIXED_SIZE, FIXED_SIZE)],
        initializers=[nan],
    )


def constant_output() -> onnx.ModelProto:
    """Every output value is 1, whatever the photo."""
    zero = numpy_helper.from_array(np.array(0, dtype=np.float32), "zero")
    one = numpy_helper.from_array(np.array(1, dtype=np.float32), "one")
    return _model(
        "constant_output",
        [
            _channel_mean("image", "mean"),
            helper.make_node("Mul", ["mean", "zero"], ["zeros"]),
            helper.make_node("Add", ["zeros", "one"], ["depth"]),
        ],
        [_image_input(FIXED_SIZE, FIXED_SIZE)],
        [_depth_output(1, FIXED_SIZE, FIXED_SIZE)],
        initializers=[zero, one],
    )


def bad_input_shape() -> onnx.ModelProto:
    """Takes a one-channel image: not a colour depth model."""
    return _model(
        "bad_input_shape",
        [_channel_mean("image", "depth")],
        [_image_input(FIXED_SIZE, FIXED_SIZE, channels=1)],
        [_depth_output(1, FIXED_SIZE, FIXED_SIZE)],
    )


def bad_output_shape() -> onnx.ModelProto:
    """Returns a three-channel image instead of one depth plane."""
    return _model(
        "bad_output_shape",
        [helper.make_node("Identity", ["image"], ["depth"])],
        [_image_input(FIXED_SIZE, FIXED_SIZE)],
        [_depth_output(1, 3, FIXED_SIZE, FIXED_SIZE)],
    )


MODELS = {
    "tiny_fixed.onnx": tiny_fixed,
    "tiny_dynamic.onnx": tiny_dynamic,
    "nan_output.onnx": nan_output,
    "constant_output.onnx": constant_output,
    "bad_input_shape.onnx": bad_input_shape,
    "bad_output_shape.onnx": bad_output_shape,
}


def write_test_models(out_dir: Path) -> dict[str, Path]:
    """Write every test model into `out_dir`; returns {file name: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for file_name, build in MODELS.items():
        path = out_dir / file_name
        onnx.save(build(), path)
        written[file_name] = path
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the .onnx files into")
    args = parser.parse_args()
    for path in write_test_models(args.out).values():
        print(path)


if __name__ == "__main__":
    main()
