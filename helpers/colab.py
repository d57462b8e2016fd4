"""What every notebook prints first: library versions, the accelerator, pin mismatches."""

from __future__ import annotations

import platform
from importlib import metadata

from .pins import mismatches

SHOWN = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "tokenizers")


def colab_badge(notebook: str, repo: str = "llm-workbook/llm-workbook") -> str:
    """Markdown for an 'Open in Colab' badge of notebooks/<notebook>."""
    url = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def report_environment() -> None:
    """Print Python and library versions and the GPU (or 'CPU only'); warn about versions off the pins."""
    import torch

    versions = ", ".join(f"{name} {metadata.version(name)}" for name in SHOWN)
    print(f"python {platform.python_version()}, {versions}")
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        print(f"GPU: {props.name}, {props.total_memory / 2**30:.1f} GiB, compute capability {props.major}.{props.minor}")
    else:
        print("GPU: none (CPU only)")
    for name, (want, have) in mismatches().items():
        print(f"warning: {name} {have} is installed but the course is pinned to {want}; "
              "restart the runtime after the setup cell if you just installed.")
