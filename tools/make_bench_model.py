"""Write the MiDaS v2.1 small architecture with random weights, for timing only (real weights cannot be
downloaded here).

    python tools/make_bench_model.py [--out FILE]

Same graph as `MidasNet_small` (MiDaS v2.1, 256x256): an EfficientNet-Lite3 encoder (stem 32, stages of
MBConv blocks with ReLU6, channel multiplier 1.2, depth multiplier 1.4, no squeeze-excitation, no head),
taken at strides 4/8/16/32 with 32/48/136/384 channels; 3x3 "scratch" convolutions to 64/128/256/512;
four feature-fusion blocks (two residual conv units, x2 bilinear upsample, 1x1 projection, expand=True);
and the output head (3x3 to 32, x2 upsample, 3x3, ReLU, 1x1 to 1, ReLU). Batch norms are folded into the
convolutions' biases, as in an exported inference graph. Built with onnx.helper + numpy: no torch needed.
Prints the parameter count and FLOPs (a multiply-add counts as 2): 16.6 M parameters in the graph, plus the
4.7 M of the deepest fusion block's first residual unit, which PyTorch's MidasNet_small owns but never runs
(nothing feeds it) and ONNX export drops, make the quoted 21 M; 9.2 GFLOPs. The file is 66.3 MB, against
66.8 MB for the official model-small.onnx.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 256
OPSET = 17
IR_VERSION = 9
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "build" / "bench" / "midas_v21_small_random.onnx"
# EfficientNet-B0 stages: (expansion, kernel, stride, channels, repeats), scaled below for Lite3.
B0_STAGES = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
]
CHANNEL_MULTIPLIER, DEPTH_MULTIPLIER = 1.2, 1.4
STEM_CHANNELS = 32
FEATURES = 64  # MiDaS small decoder width


def round_channels(channels: float) -> int:
    """timm's round_channels: nearest multiple of 8, never below 90 % of the target."""
    rounded = max(8, int(channels + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * channels else rounded


def lite3_stages():
    stages = []
    for index, (expansion, kernel, stride, channels, repeats) in enumerate(B0_STAGES):
        first_or_last = index in (0, len(B0_STAGES) - 1)  # Lite keeps these at one block
        count = repeats if first_or_last else int(np.ceil(repeats * DEPTH_MULTIPLIER))
        stages.append((expansion, kernel, stride, round_channels(channels * CHANNEL_MULTIPLIER), count))
    return stages


class GraphBuilder:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.initializers = [], []
        self.params = self.flops = 0
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def constant(self, prefix: str, values: np.ndarray) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(values, name))
        return name

    def conv(self, x, shape, out_channels, kernel, stride=1, groups=1, bias=True, bias_value=0.0):
        """Conv with He-initialised random weights; `shape` is (channels, height, width) of x."""
        in_channels, height, width = shape
        fan_in = in_channels // groups * kernel * kernel
        weight = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (out_channels, in_channels // groups, kernel, kernel))
        inputs = [x, self.constant("w", weight.astype(np.float32))]
        self.params += weight.size
        if bias:
            inputs.append(self.constant("b", np.full(out_channels, bias_value, np.float32)))
            self.params += out_channels
        out = self.name("conv")
        pad = kernel // 2
        self.nodes.append(
            helper.make_node(
                "Conv",
                inputs,
                [out],
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=[pad] * 4,
                group=groups,
            )
        )
        out_h, out_w = (height + 2 * pad - kernel) // stride + 1, (width + 2 * pad - kernel) // stride + 1
        self.flops += 2 * out_channels * fan_in * out_h * out_w
        return out, (out_channels, out_h, out_w)

    def op(self, op_type, inputs, **attributes):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attributes))
        return out

    def relu6(self, x):
        return self.op(
            "Clip", [x, self.constant("zero", np.array(0, np.float32)), self.constant("six", np.array(6, np.float32))]
        )

    def upsample2(self, x, shape):
        """Bilinear x2 with align_corners, as MiDaS's Interpolate."""
        scales = self.constant("scales", np.array([1, 1, 2, 2], np.float32))
        out = self.op("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="align_corners")
        return out, (shape[0], shape[1] * 2, shape[2] * 2)

    # EfficientNet-Lite blocks (batch norm folded into the conv bias)
    def depthwise_separable(self, x, shape, kernel, stride, out_channels):
        y, y_shape = self.conv(x, shape, shape[0], kernel, stride, groups=shape[0])
        y, y_shape = self.conv(self.relu6(y), y_shape, out_channels, 1)
        return (self.op("Add", [x, y]) if stride == 1 and shape == y_shape else y), y_shape

    def inverted_residual(self, x, shape, expansion, kernel, stride, out_channels):
        mid = shape[0] * expansion
        y, y_shape = self.conv(x, shape, mid, 1)
        y, y_shape = self.conv(self.relu6(y), y_shape, mid, kernel, stride, groups=mid)
        y, y_shape = self.conv(self.relu6(y), y_shape, out_channels, 1)
        return (self.op("Add", [x, y]) if stride == 1 and shape == y_shape else y), y_shape

    # MiDaS decoder
    def residual_conv_unit(self, x, shape):
        y, _ = self.conv(self.op("Relu", [x]), shape, shape[0], 3)
        y, _ = self.conv(self.op("Relu", [y]), shape, shape[0], 3)
        return self.op("Add", [y, x])

    def fusion_block(self, x, shape, skip=None, expand=True):
        if skip is not None:
            x = self.op("Add", [x, self.residual_conv_unit(skip, shape)])
        x = self.residual_conv_unit(x, shape)
        x, shape = self.upsample2(x, shape)
        return self.conv(x, shape, shape[0] // 2 if expand else shape[0], 1)


def build() -> tuple[onnx.ModelProto, int, int]:
    g = GraphBuilder()
    x, shape = g.conv("image", (3, SIZE, SIZE), STEM_CHANNELS, 3, stride=2)
    x = g.relu6(x)
    features = []  # encoder outputs after stages 2, 3, 5 and 7 (strides 4, 8, 16, 32)
    for index, (expansion, kernel, stride, channels, count) in enumerate(lite3_stages()):
        for block in range(count):
            block_stride = stride if block == 0 else 1
            if expansion == 1:
                x, shape = g.depthwise_separable(x, shape, kernel, block_stride, channels)
            else:
                x, shape = g.inverted_residual(x, shape, expansion, kernel, block_stride, channels)
        if index in (1, 2, 4, 6):
            features.append((x, shape))
    # Scratch: 3x3 convs without bias to 64 / 128 / 256 / 512 channels.
    scratch = [g.conv(f, s, FEATURES * 2**i, 3, bias=False) for i, (f, s) in enumerate(features)]
    path, path_shape = g.fusion_block(*scratch[3])
    path, path_shape = g.fusion_block(path, path_shape, skip=scratch[2][0])
    path, path_shape = g.fusion_block(path, path_shape, skip=scratch[1][0])
    path, path_shape = g.fusion_block(path, path_shape, skip=scratch[0][0], expand=False)
    # Output head. A positive last bias keeps the final ReLU from zeroing the random network's output.
    head, head_shape = g.conv(path, path_shape, FEATURES // 2, 3)
    head, head_shape = g.upsample2(head, head_shape)
    head, head_shape = g.conv(head, head_shape, 32, 3)
    head, head_shape = g.conv(g.op("Relu", [head]), head_shape, 1, 1, bias_value=1.0)
    head = g.op("Relu", [head])
    g.nodes.append(helper.make_node("Squeeze", [head, g.constant("axis", np.array([1], np.int64))], ["depth"]))
    graph = helper.make_graph(
        g.nodes,
        "midas_v21_small_random",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, SIZE, SIZE])],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="make_bench_model")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model, g.params, g.flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output .onnx (default {DEFAULT_OUT})")
    args = parser.parse_args()
    model, params, flops = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, args.out)
    unused_unit = 2 * (8 * FEATURES * 8 * FEATURES * 9 + 8 * FEATURES)  # see the module docstring
    print(
        f"{args.out}: {params / 1e6:.1f} M parameters in the graph ({(params + unused_unit) / 1e6:.1f} M with "
        f"MidasNet_small's unused residual unit), {flops / 1e9:.1f} GFLOPs at {SIZE}x{SIZE}"
    )


if __name__ == "__main__":
    main()
