"""Tools for the learner (layer 5, on top of the stages): chat with every stage (`chat`), export to GGUF /
Ollama (`export`), every saved model on the same held-out measures (`scoreboard`) and `make course` (`course`).

The names below are the ones notebooks and tests use, importable from here (loaded on first use, so importing this
package costs nothing); each lives in the submodule named in `_EXPORTS`.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "Answer": "chat_answers", "ChatSettings": "chat_answers", "as_records": "chat_answers",
    "compare": "chat_answers", "available_models": "chat_models", "load_chat_models": "chat_models",
    "load_rm": "chat_models", "chat_widget": "chat",
    "HEADLINES": "course", "headline_rows": "course", "quoted_effect": "course", "quoted_heldout": "course",
    "quoted_rm_cut": "course",
    "converter_available": "export", "describe": "export", "write_ollama": "export",
    "COLUMNS": "scoreboard", "N_EVAL": "scoreboard", "figure": "scoreboard", "table": "scoreboard",
    # scoreboard() itself: helpers.learner.scoreboard.scoreboard (here the name is the submodule's)
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
