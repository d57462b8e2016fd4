"""Maintainer and CI code (layer 6, the top: nothing in the course imports it): the offline Qwen2.5-shaped
stand-in (`standin`) and the rehearsal profile's assets and hub mirror (`rehearsal`, built by
`python -m helpers.maintainer.rehearsal`, which `make rehearsal` runs first).

The names below are the ones notebooks and tests use, importable from here (loaded on first use, so importing this
package costs nothing); each lives in the submodule named in `_EXPORTS`.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "build_mirror": "rehearsal", "medical_mirror_rows": "rehearsal",
    "build_qwen_standin": "standin", "qwen_tokenizer": "standin", "standin_config": "standin",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
