"""Where and in which precision the engine runs: device and dtype from what a user asked for."""

from __future__ import annotations

import functools

import torch

from annotator.engine.errors import DeviceError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> cuda if available, else mps, else cpu."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(
            f"unknown device {str(device)!r}; available here: {', '.join(available_devices())}"
        ) from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda" and torch.cuda.is_available():
        if dev.index is None or dev.index < torch.cuda.device_count():
            return dev
    elif dev.type == "mps" and _mps_available():
        return dev
    raise DeviceError(
        f"device {str(device)!r} is not available here; available: {', '.join(available_devices())}"
    )


def available_devices() -> list[str]:
    """The devices ``resolve_device`` accepts on this machine: cpu, cuda:N (named), mps."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            devices.append(f"cuda:{i} ({torch.cuda.get_device_name(i)})")
    if _mps_available():
        devices.append("mps")
    return devices


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


@functools.cache  # the CPU does not change; asked on every fused conv
def onednn_bf16() -> bool:
    """Whether this CPU has oneDNN's bf16 kernels: AVX512 (BW, VL, DQ), AVX-NE-CONVERT or AMX
    on x86, the bf16 extension on Arm. Without them oneDNN refuses bf16 convolutions outright
    (seen on an AVX2-only EPYC), and torch's own bf16 kernels are emulated and slower than
    float32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(
                f"dtype {dtype!r} not supported; use auto, float32, bfloat16 or float16"
            )
        dtype = _DTYPES[dtype]
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype {dtype} not supported; use float32, bfloat16 or float16")
    if dtype == torch.float16 and device.type == "cpu":
        raise ValueError(
            "float16 is not supported on the CPU (slow or missing kernels); use float32 or bfloat16"
        )
    return dtype


def device_name(device: str | torch.device) -> str:
    """The device in words for a status bar: "CPU", "NVIDIA H100 (CUDA)",
    "AMD Instinct MI250 (ROCm)" (torch's ROCm build exposes AMD GPUs as ``cuda``), "Apple GPU
    (MPS)"."""
    dev = torch.device(device)
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        stack = "ROCm" if getattr(torch.version, "hip", None) else "CUDA"
        return f"{torch.cuda.get_device_name(index)} ({stack})"
    if dev.type == "mps":
        return "Apple GPU (MPS)"
    return dev.type.upper()
