"""Nothing but the lesson: what an executed notebook, `make course`'s terminal and `python -m helpers.stages` must not
show, a checker that finds it, and the switches that keep the libraries quiet.

Noise is: anything on stderr (in a notebook), ANSI escape codes, machine paths (/work/..., /home/..., site-packages,
.venv), Python or logging warnings, raw log dicts ({'loss': ..., 'epoch': ...}), streams of per-step `step=` lines,
and progress bars saved frozen (a tqdm widget whose saved text shows less than 100 %, an HTML progress bar short of
its end). `helpers.learner.course` runs `scan_notebook` on every executed copy (so `make course` and `make rehearsal`, part
of `make test`, fail on noise) and `finish_progress_bars` before saving one; the root conftest.py scans every cell
nbval runs (`scan_cell_outputs`)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

ANSI = re.compile(r"\x1b\[")
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home|tmp|Users)/|site-packages|dist-packages|\.venv\b")
WARNING = re.compile(r"\b[A-Z]\w*Warning: |\bWARNING\b")  # warnings.formatwarning's "...: FutureWarning: ..."; logging
LOG_DICT = re.compile(r"^\s*\{'[^']*'.*?'(?:loss|epoch|train_loss)'")
STEP_LINE = re.compile(r"^\s*step=\d+\s+\w+=")
BAR_PERCENT = re.compile(r"(\d{1,3})%\|")  # tqdm's "  0%|" / " 42%|"
HTML_PROGRESS = re.compile(r"<progress\s+value='?\"?(\d+(?:\.\d+)?)'?\"?\s+max='?\"?(\d+(?:\.\d+)?)")
MAX_STEP_LINES = 2  # more per-step lines than this in one output is a log stream, not a lesson


@dataclass(frozen=True)
class Noise:
    """Offending output: the cell's index in the notebook, why, the first offending text (shortened), how many."""

    cell: int
    reason: str
    excerpt: str
    count: int = 1

    def __str__(self) -> str:
        times = f" ({self.count} outputs)" if self.count > 1 else ""
        return f"cell {self.cell}: {self.reason}{times}: {self.excerpt!r}"


def _excerpt(text: str, match: re.Match | None = None, width: int = 100) -> str:
    start = max(0, match.start() - width // 2) if match else 0
    return text[start:start + width]


def visible_lines(text: str) -> list[str]:
    """The lines a notebook or terminal shows: for each line, what follows its last carriage return."""
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n")]


def frozen_bar(text: str) -> str | None:
    """The first tqdm text bar in `text` that stands below 100 % as shown (after carriage returns), else None."""
    for line in visible_lines(text):
        m = BAR_PERCENT.search(line)
        if m and int(m.group(1)) < 100:
            return line
    return None


def scan_text(text: str) -> list[tuple[str, str]]:
    """(reason, excerpt) for each kind of noise in a piece of output text or terminal output."""
    found = []
    for reason, pattern in (("ANSI escape code", ANSI), ("machine path", MACHINE_PATH), ("warning", WARNING)):
        m = pattern.search(text)
        if m:
            found.append((reason, _excerpt(text, m)))
    lines = visible_lines(text)
    dicts = [line for line in lines if LOG_DICT.search(line)]
    if dicts:
        found.append(("raw log dict", f"{len(dicts)} line(s) like {dicts[0][:100]}"))
    steps = [line for line in lines if STEP_LINE.search(line)]
    if len(steps) > MAX_STEP_LINES:
        found.append(("per-step log lines (show a table or a plot)", f"{len(steps)} lines like {steps[0][:100]}"))
    bar = frozen_bar(text)
    if bar:
        found.append(("frozen progress bar", bar[:100]))
    return found


def widget_states(nb) -> dict | None:
    """The widget models saved with an executed notebook ({model_id: {"model_name", "state"}}), or None when the
    notebook saved none (then a widget output cannot be judged)."""
    saved = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE)
    return saved.get("state", {}) if saved else None


def _children(model: dict, states: dict) -> list[dict]:
    return [states.get(ref.removeprefix("IPY_MODEL_"), {}) for ref in model.get("state", {}).get("children", [])]


def closed_widget(model_id: str, states: dict) -> bool:
    """True when a widget is gone from a live notebook: closed (no saved state) or hidden (tqdm's leave=False bars:
    the layout's visibility is 'hidden')."""
    model = states.get(model_id)
    if model is None:
        return True
    layout = states.get(str(model.get("state", {}).get("layout", "")).removeprefix("IPY_MODEL_"), {})
    return layout.get("state", {}).get("visibility") == "hidden" or layout.get("state", {}).get("display") == "none"


def tqdm_widget_text(model_id: str, states: dict) -> str | None:
    """The text a tqdm.notebook bar (HBox of HTML, progress bar, HTML) showed last, as tqdm prints it in a terminal
    ("Loading weights: 100%|██████████| 27/27 [00:00<00:00, 3361.72it/s]"); None when it is not such a bar."""
    model = states.get(model_id)
    if not model or model.get("model_name") != "HBoxModel":
        return None
    parts = _children(model, states)
    names = [p.get("model_name") for p in parts]
    if len(parts) != 3 or names[0] != "HTMLModel" or names[2] != "HTMLModel" or "Progress" not in (names[1] or ""):
        return None
    left, bar, right = (p.get("state", {}) for p in parts)
    text = lambda s: html.unescape(s.get("value", "")).replace("\u2007", " ")  # noqa: E731
    if not BAR_PERCENT.search(text(left) + "|"):
        return " ".join(t for t in (text(left).strip(), text(right).strip()) if t)  # no total: no bar to fill
    done = bar.get("value", 0) / bar.get("max", 1) if bar.get("max") else 0.0
    filled = min(10, int(done * 10))
    return f"{text(left)}|{'█' * filled}{' ' * (10 - filled)}|{text(right)}"


def scan_output(output, states: dict | None = None, final: bool = True) -> list[tuple[str, str]]:
    """(reason, excerpt) for each kind of noise in one notebook output. `states`: the notebook's saved widget models
    (widget_states); without them a widget's saved text is not judged (it is what the kernel first sent). `final`:
    False for outputs as the kernel first sent them (nbval keeps no display updates): a rich progress bar is then not
    judged either."""
    kind = output.get("output_type")
    if kind == "stream":
        found = [("stderr", output.get("text", "")[:100])] if output.get("name") == "stderr" else []
        return found + scan_text(output.get("text", ""))
    if kind == "error":
        return [("error", f"{output.get('ename')}: {output.get('evalue', '')}"[:100])]
    data = output.get("data", {})
    found = []
    if WIDGET_VIEW in data:
        if states is not None:
            model_id = data[WIDGET_VIEW].get("model_id", "")
            if closed_widget(model_id, states):
                found.append(("frozen progress bar", f"a closed widget's saved text stays: "
                                                     f"{data.get('text/plain', '')[:80]}"))
            else:
                shown = tqdm_widget_text(model_id, states)
                if shown is not None and frozen_bar(shown):
                    found.append(("frozen progress bar", f"stopped at {shown[:90]}"))
                if shown is not None and frozen_bar(data.get("text/plain", "")):
                    found.append(("frozen progress bar", f"saved text {data['text/plain'][:80]}"))
        return found + [f for f in scan_text(data.get("text/plain", "")) if f[0] != "frozen progress bar"]
    for mime in ("text/plain", "text/html", "text/markdown"):
        if isinstance(data.get(mime), str):
            found += scan_text(data[mime])
    if not final:
        found = [f for f in found if f[0] != "frozen progress bar"]
    for m in HTML_PROGRESS.finditer(data.get("text/html", "") if final and isinstance(data.get("text/html"), str)
                                    else ""):
        if float(m.group(1)) < float(m.group(2)):
            found.append(("frozen progress bar", f"HTML progress at {m.group(1)}/{m.group(2)}"))
    return found


def coalesced(outputs: list) -> list:
    """A cell's outputs with its stream outputs joined per stream (stdout, stderr), as a notebook shows them: a line
    printed per training step arrives as an output of its own."""
    streams: dict[str, dict] = {}
    merged = []
    for output in outputs:
        if output.get("output_type") == "stream":
            name = output.get("name", "stdout")
            if name not in streams:
                streams[name] = {"output_type": "stream", "name": name, "text": ""}
                merged.append(streams[name])
            streams[name]["text"] += output.get("text", "")
        else:
            merged.append(output)
    return merged


def scan_notebook(nb) -> list[Noise]:
    """Every noisy output of an executed notebook (an nbformat NotebookNode or its dict), with its cell index: one
    Noise per cell and reason (the first offending text; `count` how many outputs offended)."""
    states = widget_states(nb)
    noise: dict[tuple[int, str], Noise] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        for output in coalesced(cell.get("outputs", [])):
            for reason, excerpt in scan_output(output, states):
                first = noise.get((index, reason))
                noise[index, reason] = Noise(index, reason, first.excerpt if first else excerpt,
                                             first.count + 1 if first else 1)
    return list(noise.values())


def scan_cell_outputs(outputs: list) -> list[tuple[str, str]]:
    """(reason, excerpt) for the outputs of one cell as nbval collects them: as the kernel first sent them, without
    display updates or widget states (so rich progress bars are not judged; everything else is)."""
    return list(dict.fromkeys(f for output in coalesced(outputs) for f in scan_output(output, None, final=False)))


def finish_progress_bars(nb) -> int:
    """Make the saved copy of an executed notebook show each tqdm bar as it ended, not as it began.

    A tqdm bar in a notebook is a widget: the output keeps the text the kernel sent when the bar appeared ("0%|"),
    for viewers without widgets (GitHub, nbviewer, a text editor), while its final state lives in the notebook's
    saved widget models. This rewrites each bar's text from its final state and drops the outputs of widgets that were
    closed or hidden (tqdm's leave=False bars, helpers.env.progress: gone from a live notebook too). Returns the number of
    outputs changed."""
    states = widget_states(nb)
    if states is None:
        return 0
    changed = 0
    for cell in nb.get("cells", []):
        kept = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                model_id = view.get("model_id", "")
                if closed_widget(model_id, states):
                    changed += 1
                    continue
                shown = tqdm_widget_text(model_id, states)
                if shown is not None and output["data"].get("text/plain") != shown:
                    output["data"]["text/plain"] = shown
                    changed += 1
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    return changed


# ---- keeping the libraries quiet

QUIET_LOGGERS = {
    # bitsandbytes on a CPU with AVX-512 BF16, at import (peft imports it): an optional faster CPU kernel for 4-bit
    # matmuls is not installed. No profile runs 4-bit on a CPU.
    "bitsandbytes.backends.cpu.ops": "ERROR",
    # The Trainer copying the tokenizer's PAD/BOS/EOS ids into the model's config (01's tokenizer defines them; the
    # config follows, as it should), and ordering checkpoints by step number where file times are coarse (Drive).
    "transformers.trainer_utils": "ERROR",
}


def quiet_libraries() -> None:
    """Silence what the libraries say about their own internals, not about the learner's code: FutureWarnings raised
    inside transformers, trl, peft and accelerate (e.g. peft reading transformers' deprecated
    `is_gradient_checkpointing`), the loggers in QUIET_LOGGERS and transformers' weight-loading bar (hub downloads keep
    huggingface_hub's own bars). Warnings raised by our own calls still show.
    Called by the setup cell (helpers.env.colab.report_environment) and by `python -m helpers.stages`."""
    import logging
    import warnings

    for module in ("transformers", "trl", "peft", "accelerate"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=rf"{module}(\.|$)")
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # a broken install: report_environment (which calls this) says what to reinstall
        return
    transformers_logging.disable_progress_bar()  # its "Loading weights" bar: a second's work, one frozen line each load


def compact_progress(trainer, keys: tuple[str, ...] = ("loss",), desc: str = "training steps") -> None:
    """A Trainer's progress without raw log dicts.

    transformers prints every log as a dict: ProgressCallback (a terminal) writes `{'loss': ..., 'grad_norm': ...}`
    under its bar, PrinterCallback (disable_tqdm=True) prints it. Both are replaced by a progress bar (tqdm.auto: a
    widget in a notebook, stderr in a terminal) with the newest values of `keys` beside it. In a notebook without
    disable_tqdm, transformers' own NotebookProgressCallback (a table of step and training loss) stays. `desc` names
    the bar."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class CompactProgressCallback(ProgressCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            super().on_train_begin(args, state, control, **kwargs)
            if self.training_bar is not None:
                self.training_bar.set_description(desc, refresh=False)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and self.training_bar is not None and logs:
                shown = {k: f"{logs[k]:.4g}" for k in keys if isinstance(logs.get(k), (int, float))}
                if shown:
                    self.training_bar.set_postfix(shown, refresh=False)

    handler = trainer.callback_handler
    had = [cb for cb in handler.callbacks if type(cb) in (PrinterCallback, ProgressCallback)]
    for cb in had:
        trainer.remove_callback(cb)
    if had:
        trainer.add_callback(CompactProgressCallback())
