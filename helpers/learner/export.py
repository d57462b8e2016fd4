"""Export the final chat model for llama.cpp and Ollama: GGUF through llama.cpp's own converter, plus a Modelfile.

The converter is llama.cpp's maintained `convert_hf_to_gguf.py` (with its `conversion/` package and the `gguf-py`
library of the same commit), never a writer of our own. PyPI has no wheel that ships it; the sdist of
`llama-cpp-python` (CONVERTER_PIN) vendors llama.cpp whole, so on first use `converter_dir()` fetches that sdist with
pip (`pip download --no-deps --no-binary :all:`, an ordinary PyPI download, about 75 MB) and unpacks only the
converter (about 2 MB) into a cache folder. Pinning one version keeps the script and its `gguf-py` in step; the
GGUF files it writes are read by any recent llama.cpp / Ollama. `LLAMA_CPP_DIR` (a llama.cpp checkout) overrides it.

llama.cpp recognises a BPE tokenizer's pre-tokenizer by hashing how it splits a fixed text. Qwen2.5's own tokenizer
is known ("qwen2"); the course's tokenizer from 01 (a byte-level BPE of our own, GPT-2's split regex) and Qwen's
tokenizer after 01 added domain tokens (the added tokens change the hash) are not, and the converter stops with
"BPE pre-tokenizer was not recognized". `pre_tokenizer_name()` reads the pre-tokenizer from tokenizer.json instead:
ByteLevel with its built-in regex is llama.cpp's "gpt-2", Qwen2's Split regex + ByteLevel is "qwen2". The converter
runs unchanged in a subprocess; only when its hash lookup fails does that name answer instead.

    python -m helpers.learner.export gguf MODEL_DIR OUT.gguf [--outtype f16|q8_0|bf16|f32]
    python -m helpers.learner.export ollama MODEL_DIR OUT_DIR [--outtype q8_0]   # model.gguf + Modelfile
    python -m helpers.learner.export fetch-converter                              # fill the cache (e.g. in `make setup`)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from ..lm.templates import BOS, EOS, PAD, SYSTEM_PROMPT

from ..env.pins import pyproject
from ..env.runs import cache_root

CONVERTER_PIN = pyproject()["tool"]["workbook"]["llama_cpp_converter"]  # pinned in pyproject, like every version
CONVERTER_PACKAGE, CONVERTER_VERSION = CONVERTER_PIN.split("==")
CONVERTER_SCRIPT = "convert_hf_to_gguf.py"
_VENDORED = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")  # what is unpacked from the sdist
OUTTYPES = ("f16", "q8_0", "bf16", "f32")

# The pre-tokenizer regexes llama.cpp implements under these names (src/llama-vocab.cpp).
GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"  # ByteLevel(use_regex)
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")


class ExportError(RuntimeError):
    pass


# ---- the converter
def _is_converter(folder: Path) -> bool:
    return (folder / CONVERTER_SCRIPT).is_file() and (folder / "conversion" / "__init__.py").is_file()


def converter_dir(download: bool = True, quiet: bool = False) -> Path:
    """A folder holding llama.cpp's convert_hf_to_gguf.py, conversion/ and gguf-py/: $LLAMA_CPP_DIR when set, else the
    copy unpacked from CONVERTER_PIN's sdist into the cache (fetched with pip on first use unless `download` is False).
    """
    env = os.environ.get("LLAMA_CPP_DIR")
    if env:
        folder = Path(env).expanduser()
        if not _is_converter(folder):
            raise ExportError(f"LLAMA_CPP_DIR={env} has no {CONVERTER_SCRIPT} with its conversion/ package (a "
                              "llama.cpp checkout from 2026 on is needed; older ones are a single script)")
        return folder
    folder = cache_root() / f"llama.cpp-from-{CONVERTER_PACKAGE}-{CONVERTER_VERSION}"
    if _is_converter(folder):
        return folder
    if not download:
        raise ExportError(f"llama.cpp's converter is not in {folder}; run `python -m helpers.learner.export fetch-converter`")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        if not quiet:
            print(f"Fetching llama.cpp's converter: pip download {CONVERTER_PIN} (sdist, about 75 MB, once) ...",
                  flush=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--quiet",
               "--disable-pip-version-check", "-d", tmp, CONVERTER_PIN]
        done = subprocess.run(cmd, capture_output=True, text=True)
        sdists = sorted(Path(tmp).glob("*.tar.gz"))
        if done.returncode != 0 or not sdists:
            raise ExportError(f"could not download {CONVERTER_PIN} from PyPI to get llama.cpp's converter "
                              f"(set LLAMA_CPP_DIR to a llama.cpp checkout instead):\n{done.stderr[-2000:]}")
        staged = Path(tmp) / "llama.cpp"
        _unpack_converter(sdists[0], staged)
        if not _is_converter(staged):
            raise ExportError(f"{sdists[0].name} holds no vendor/llama.cpp/{CONVERTER_SCRIPT}")
        (staged / "SOURCE.txt").write_text(f"vendor/llama.cpp of the PyPI sdist {CONVERTER_PIN}\n")
        try:
            staged.rename(folder)  # atomic: a half-unpacked converter is never seen
        except OSError:
            if not _is_converter(folder):  # lost a race to another process: fine if it finished
                raise
    return folder


def converter_available() -> bool:
    """True when to_gguf() needs no download ($LLAMA_CPP_DIR, or the converter already in the cache)."""
    try:
        converter_dir(download=False)
        return True
    except ExportError:
        return False


def _unpack_converter(sdist: Path, dest: Path) -> None:
    """Extract <root>/vendor/llama.cpp/{convert_hf_to_gguf.py, conversion/, gguf-py/, LICENSE} of `sdist` to `dest`."""
    with tarfile.open(sdist) as tar:
        members = []
        for m in tar.getmembers():
            parts = m.name.split("/", 3)  # llama_cpp_python-X/vendor/llama.cpp/<rel>
            if len(parts) < 4 or parts[1:3] != ["vendor", "llama.cpp"] or not (m.isfile() or m.isdir()):
                continue
            rel = parts[3]
            if any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in _VENDORED):
                m.name = rel
                members.append(m)
        dest.mkdir(parents=True)
        tar.extractall(dest, members=members, filter="data")


# ---- the tokenizer
def pre_tokenizer_name(model_dir: str | Path) -> str | None:
    """llama.cpp's name for the pre-tokenizer in `model_dir`/tokenizer.json ("gpt-2", "qwen2"), or None."""
    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        return None
    pre = json.loads(path.read_text(encoding="utf-8")).get("pre_tokenizer") or {}
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True) and not pre.get("add_prefix_space", False):
        return "gpt-2"  # tokenizers' ByteLevel regex is GPT-2's
    steps = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else []
    if (len(steps) == 2 and steps[0].get("type") == "Split" and steps[1].get("type") == "ByteLevel"
            and (steps[0].get("pattern") or {}).get("Regex") == QWEN2_REGEX and steps[0].get("behavior") == "Isolated"
            and not steps[1].get("use_regex", True) and not steps[1].get("add_prefix_space", False)):
        return "qwen2"
    return None


# The subprocess: llama.cpp's converter as it is, except that an unrecognised pre-tokenizer hash falls back to the
# name read from tokenizer.json (argv[2]) instead of stopping.
_RUNNER = r"""
import logging, runpy, sys
folder, fallback = sys.argv[1], sys.argv[2]
sys.path[:0] = [folder, folder + "/gguf-py"]
from conversion import base
original = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return original(self, tokenizer)
    except NotImplementedError:
        if not fallback:
            raise
        logging.getLogger("hf-to-gguf").warning(
            "pre-tokenizer hash not in llama.cpp's list: using %r, read from tokenizer.json", fallback)
        return fallback
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [folder + "/convert_hf_to_gguf.py"] + sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def to_gguf(model_dir: str | Path, out_path: str | Path, outtype: str = "f16", name: str | None = None,
            quiet: bool = True) -> Path:
    """Convert the Hugging Face model folder `model_dir` (config.json, safetensors, tokenizer) to one GGUF file with
    llama.cpp's convert_hf_to_gguf.py; returns `out_path`. outtype: f16 | q8_0 | bf16 | f32; `name` (general.name):
    default "llm-workbook-<the folder's stage>" (<run>/<stage>/model)."""
    model_dir, out_path = Path(model_dir), Path(out_path)
    name = name or f"llm-workbook-{model_dir.resolve().parent.name if model_dir.name == 'model' else model_dir.name}"
    if outtype not in OUTTYPES:
        raise ValueError(f"outtype must be one of {OUTTYPES}, got {outtype!r}")
    if not (model_dir / "config.json").is_file():
        raise ExportError(f"{model_dir} is not a saved model (no config.json)")
    if importlib.util.find_spec("sentencepiece") is None:  # the converter imports it before it looks at the files
        raise ExportError("llama.cpp's converter needs the sentencepiece package: pip install sentencepiece")
    folder = converter_dir(quiet=quiet)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    cmd = [sys.executable, "-c", _RUNNER, str(folder), pre_tokenizer_name(model_dir) or "", str(model_dir),
           "--outfile", str(partial), "--outtype", outtype, "--model-name", name]
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    env.pop("NO_LOCAL_GGUF", None)  # the converter must use the gguf-py it came with
    done = subprocess.run(cmd, env=env, capture_output=quiet, text=True)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        detail = (done.stderr or "")[-3000:] if quiet else "(see the output above)"
        raise ExportError(f"llama.cpp's converter failed on {model_dir} (exit {done.returncode}):\n{detail}")
    partial.replace(out_path)
    return out_path


# ---- Ollama
# Ollama's Go template of the course's ChatML (helpers.lm.templates.CHAT_TEMPLATE): every message as
# <|im_start|>ROLE\nCONTENT<|im_end|>\n, then the generation prompt. Ollama puts SYSTEM first as a system message.
OLLAMA_TEMPLATE = (f"{{{{- range .Messages }}}}{BOS}{{{{ .Role }}}}\n{{{{ .Content }}}}{EOS}\n"
                   f"{{{{ end }}}}{BOS}assistant\n")
STOP_TOKENS = (EOS, BOS, PAD)


def _quoted(text: str) -> str:
    if '"""' in text:
        raise ValueError('a Modelfile value cannot contain """')
    return f'"""{text}"""'


def modelfile(gguf_path: str | Path, system_prompt: str | None = SYSTEM_PROMPT, parameters: dict | None = None) -> str:
    """An Ollama Modelfile for `gguf_path` (written as it is given: a bare file name is found next to the Modelfile)
    with the course's ChatML template, its stop tokens and `system_prompt` (None: no SYSTEM line)."""
    lines = [f"FROM {gguf_path}", "", f"TEMPLATE {_quoted(OLLAMA_TEMPLATE)}", ""]
    if system_prompt:
        lines += [f"SYSTEM {_quoted(system_prompt)}", ""]
    lines += [f'PARAMETER stop "{token}"' for token in STOP_TOKENS]
    for key, value in (parameters or {}).items():
        lines.append(f"PARAMETER {key} {value}")
    return "\n".join(lines) + "\n"


def write_ollama(model_dir: str | Path, out_dir: str | Path, outtype: str = "q8_0",
                 system_prompt: str | None = SYSTEM_PROMPT, parameters: dict | None = None) -> Path:
    """`out_dir`/model.gguf (llama.cpp's converter) and `out_dir`/Modelfile that points at it; returns the Modelfile.
    Then: `ollama create course -f OUT_DIR/Modelfile` and `ollama run course`."""
    out = Path(out_dir)
    gguf_path = to_gguf(model_dir, out / "model.gguf", outtype=outtype)
    path = out / "Modelfile"
    path.write_text(modelfile(f"./{gguf_path.name}", system_prompt, parameters), encoding="utf-8")
    return path


def describe(gguf_path: str | Path) -> dict:
    """The main facts of a GGUF file (read with gguf.GGUFReader): architecture, tensors, vocabulary, special tokens."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))

    def value(key):
        field = reader.get_field(key)
        return None if field is None else field.contents()

    return {"architecture": value("general.architecture"), "tensors": len(reader.tensors),
            "vocab_size": len(value("tokenizer.ggml.tokens") or []), "pre_tokenizer": value("tokenizer.ggml.pre"),
            "eos_token_id": value("tokenizer.ggml.eos_token_id"), "file_type": value("general.file_type"),
            "chat_template": value("tokenizer.chat_template"), "size_mb": Path(gguf_path).stat().st_size / 2**20}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.learner.export", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gguf", help="convert a saved model folder to one GGUF file")
    g.add_argument("model_dir")
    g.add_argument("out")
    g.add_argument("--outtype", default="f16", choices=OUTTYPES)
    o = sub.add_parser("ollama", help="model.gguf + Modelfile in OUT_DIR")
    o.add_argument("model_dir")
    o.add_argument("out_dir")
    o.add_argument("--outtype", default="q8_0", choices=OUTTYPES)
    o.add_argument("--system", default=SYSTEM_PROMPT)
    sub.add_parser("fetch-converter", help=f"download {CONVERTER_PIN}'s sdist and unpack llama.cpp's converter")
    args = parser.parse_args(argv)
    if args.command == "fetch-converter":
        print(converter_dir())
        return
    if args.command == "gguf":
        path = to_gguf(args.model_dir, args.out, args.outtype, quiet=False)
    else:
        path = write_ollama(args.model_dir, args.out_dir, args.outtype, args.system or None)
        print(path.read_text())
        path = path.parent / "model.gguf"
    facts = describe(path)
    facts.pop("chat_template")
    print(json.dumps(facts, indent=1))


if __name__ == "__main__":
    main()
