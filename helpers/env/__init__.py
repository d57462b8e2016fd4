"""The run environment (layer 1, imports nothing above it): profiles as data (`profiles`), the pinned libraries
(`pins`), run directories, Drive and the cache (`runs`), shipped or hub data (`sources`, `data`), torchrun process
groups (`distributed`), the cpu profile's model folder (`cpu_model`), Colab setup (`colab`), what a chapter may
print (`quiet`, `progress`) and training curves (`tensorboard`, `plots`).

The names below are the ones notebooks and tests use, importable from here (loaded on first use, so importing this
package costs nothing); each lives in the submodule named in `_EXPORTS`.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "colab_badge": "colab", "ensure_installed": "colab", "report_environment": "colab", "repository": "colab",
    "load_records": "data", "normalise_records": "data",
    "pyproject": "pins",
    "plot_curves": "plots",
    "get_profile": "profiles", "smoke": "profiles",
    "WIDGET_STATE": "quiet", "WIDGET_VIEW": "quiet", "compact_progress": "quiet", "finish_progress_bars": "quiet",
    "quiet_libraries": "quiet", "scan_cell_outputs": "quiet", "scan_notebook": "quiet",
    "REPO_ROOT": "runs", "find_output": "runs", "in_colab": "runs", "load_metrics": "runs", "mount_drive": "runs",
    "run_dir": "runs", "save_metrics": "runs", "shown": "runs", "stage_output": "runs",
    "course_texts": "sources", "has_cjk": "sources", "shipped_path": "sources",
    "ScalarLogger": "tensorboard",
    "stage_log_dir": "tensorboard", "trainer_callback": "tensorboard",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
