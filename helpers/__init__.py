"""Shared code for the LLM-training workbook notebooks (one module per idea)."""

import logging as _logging

__version__ = "0.1.0"

# bitsandbytes (the t4 path's 4-bit base) warns on import, on CPUs with AVX512-BF16, that an optional kernel package is
# missing; its portable CPU kernels are used instead. Not a learner's concern: only errors are shown.
_logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(_logging.ERROR)
