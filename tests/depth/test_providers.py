"""Which onnxruntime providers each device preference asks for, per platform and build.

The providers themselves (DirectML, CoreML, CUDA) cannot run on the test machine: these tests give the
selection logic the provider lists that each package's onnxruntime build reports.
"""

import pytest

from addon.depth.inference import COREML, CPU, CUDA, DIRECTML, fallback_warning, provider_plan

# What get_available_providers() returns for the wheel each package bundles.
WINDOWS_DEFAULT = ["DmlExecutionProvider", "CPUExecutionProvider"]  # onnxruntime-directml
MACOS_DEFAULT = ["CoreMLExecutionProvider", "AzureExecutionProvider", "CPUExecutionProvider"]  # onnxruntime
LINUX_DEFAULT = ["AzureExecutionProvider", "CPUExecutionProvider"]  # onnxruntime
CUDA_PACKAGE = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]  # onnxruntime-gpu


@pytest.mark.parametrize(
    ("system", "available", "providers"),
    [
        ("Windows", WINDOWS_DEFAULT, [DIRECTML, CPU]),
        ("Darwin", MACOS_DEFAULT, [COREML, CPU]),
        ("Linux", LINUX_DEFAULT, [CPU]),
        ("Linux", CUDA_PACKAGE, [CUDA, CPU]),
        ("Windows", CUDA_PACKAGE, [CUDA, CPU]),
        ("Windows", [CUDA, DIRECTML, CPU], [CUDA, DIRECTML, CPU]),  # NVIDIA first, then any DirectX 12 GPU
    ],
)
def test_auto_prefers_the_accelerator_the_package_carries(system, available, providers):
    assert provider_plan(available, "AUTO", system) == (providers, "")


def test_auto_without_the_expected_accelerator_says_why():
    providers, warning = provider_plan([CPU], "AUTO", "Windows")
    assert providers == [CPU]
    assert warning == "This onnxruntime build has no DirectML provider, so the CPU ran the model."
    assert "CoreML" in provider_plan([CPU], "AUTO", "Darwin")[1]
    assert provider_plan(LINUX_DEFAULT, "AUTO", "Linux") == ([CPU], "")  # Linux's default package is CPU-only


@pytest.mark.parametrize("available", [WINDOWS_DEFAULT, MACOS_DEFAULT, CUDA_PACKAGE])
def test_cpu_is_always_only_the_cpu(available):
    assert provider_plan(available, "CPU", "Windows") == ([CPU], "")


def test_cuda_asked_for_without_cuda_falls_back_with_reason():
    assert provider_plan(CUDA_PACKAGE, "CUDA", "Linux") == ([CUDA, CPU], "")
    providers, warning = provider_plan(WINDOWS_DEFAULT, "CUDA", "Windows")
    assert providers == [CPU] and "no CUDA provider" in warning


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (DIRECTML, "DirectML could not start (no DirectX 12 GPU, or its driver is too old), so the CPU ran the model."),
        (COREML, "CoreML could not start (CoreML cannot run this model on this Mac), so the CPU ran the model."),
        (
            CUDA,
            "CUDA could not start (no NVIDIA GPU, or its libraries such as CUDA/cuDNN are missing), so the CPU "
            "ran the model.",
        ),
    ],
)
def test_fallback_warning_names_the_provider_and_why(provider, expected):
    assert fallback_warning(provider) == expected
    assert fallback_warning(provider, "device lost").startswith(
        f"{expected.split(' could')[0]} could not start (device lost)"
    )
