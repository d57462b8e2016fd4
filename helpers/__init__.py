"""Shared code for the LLM-training workbook notebooks, in layers that import only downward (tests/test_layers.py):

- helpers.env        the run environment: profiles as data, pins, runs/Drive/cache, data sources, distributed, Colab
- helpers.lm         language-model building blocks: template, tokenizer, models, packing, generation, evaluation,
                     checkpoints, reward scoring
- helpers.rl, .sql   the algorithms: PPO; text-to-SQL (schemas, read-only execution, scoring, synthetic questions)
- helpers.stages     one module per training stage (its settings and steps; the code the notebook runs)
- helpers.learner    learner tools: chat, export, scoreboard, `make course`
- helpers.maintainer maintainer/CI code: the offline stand-in model and the rehearsal profile's assets
"""

import importlib as _importlib
import logging as _logging
import sys as _sys

__version__ = "0.1.0"

# The layers, lowest first. A module may import its own subpackage and any layer below it; subpackages sharing a
# layer (rl, sql) do not import each other. tests/test_layers.py checks every import in helpers/ against this.
LAYERS = (("env",), ("lm",), ("rl", "sql"), ("stages",), ("learner",), ("maintainer",))

# bitsandbytes (the t4 path's 4-bit base) warns on import, on CPUs with AVX512-BF16, that an optional kernel package is
# missing; its portable CPU kernels are used instead. Not a learner's concern: only errors are shown.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)


def lazy_exports(package: str, exports: dict[str, str]):
    """`__all__`, `__getattr__` and `__dir__` for a subpackage whose public names (`exports`: name → submodule) are
    imported on first use, so importing the subpackage costs nothing. Usage:
    `__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)`."""
    def __getattr__(name: str):
        if name in exports:
            return getattr(_importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(_sys.modules[package])) | set(exports))

    return sorted(exports), __getattr__, __dir__
