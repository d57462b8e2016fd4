"""Chat with every stage of a run: one prompt, each model's answer streamed side by side, scored by 04's reward model.

The logic is plain functions (tested without a browser) in chat_models (which models, loading) and chat_answers
(answering, scoring, ranking), all importable from here; `chat_widget(run_dir)` puts ipywidgets controls on top
(Colab and JupyterLab, no custom JavaScript) and `python -m helpers.learner.chat` does the same in a terminal:

    python -m helpers.learner.chat --run-dir runs/course [--models sft,ppo,dpo] [--rm] [--greedy] [--prompt TEXT]

Decoding is helpers.lm.generation's: the model's own generation_config (repetition penalty, top_k, ...) is blanked and
only the learner's settings apply — temperature and top_p (with top_k off), or greedy argmax — so two stages are
compared under the same rule. Every answer stops at `<|im_end|>` (the end of an assistant turn in our ChatML
template) or at the tokenizer's own EOS, or after max_new_tokens.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from transformers.utils import logging as hf_logging

from ..env.profiles import get_profile
from .chat_answers import (Answer, ChatSettings, answer, as_records, compare, conversation, generation_config, rank,
                           score, stop_token_ids)
from .chat_models import (RM_LABEL, STAGES, ChatModel, _profile, available_models, load_chat_model, load_chat_models,
                          load_rm, reward_model_path)

__all__ = ["STAGES", "RM_LABEL", "ChatSettings", "ChatModel", "Answer", "available_models", "reward_model_path",
           "load_chat_model", "load_chat_models", "load_rm", "stop_token_ids", "generation_config", "conversation",
           "answer", "score", "rank", "compare", "as_records", "ChatUI", "chat_widget", "main"]


# ---- the notebook UI
class ChatUI:
    """Controls + one column per selected model; models are loaded when first used. Displays itself."""

    def __init__(self, run_dir: str | Path, profile=None, settings: ChatSettings | None = None,
                 models: dict[str, str] | None = None):
        import ipywidgets as w

        self.run_dir = Path(run_dir)
        self.profile = _profile(profile)
        self.sources = models if models is not None else available_models(self.run_dir, self.profile)
        self.loaded: dict[str, ChatModel] = {}
        self.rm: ChatModel | None = None
        self.rows: list[Answer] = []
        s = settings or ChatSettings()
        default = [k for k in ("sft", "ppo", "dpo") if k in self.sources] or list(self.sources)
        self.pick = {k: w.Checkbox(value=k in default, description=f"{STAGES.get(k, k)}", indent=False,
                                   layout=w.Layout(width="auto")) for k in self.sources}
        has_rm = reward_model_path(self.run_dir) is not None
        self.use_rm = w.Checkbox(value=has_rm, disabled=not has_rm, indent=False, layout=w.Layout(width="auto"),
                                 description="score with 04's reward model" + ("" if has_rm else " (none in run)"))
        self.ranked = w.Checkbox(value=True, disabled=not has_rm, description="sort by RM score", indent=False,
                                 layout=w.Layout(width="auto"))
        self.prompt = w.Textarea(placeholder="Ask something, e.g. 高血压患者饮食要注意什么？",
                                 layout=w.Layout(width="100%", height="70px"))
        self.system = w.Text(value=s.system, placeholder="optional system message", description="system",
                             layout=w.Layout(width="100%"))
        self.temperature = w.FloatSlider(value=s.temperature, min=0.05, max=2.0, step=0.05, description="temperature")
        self.top_p = w.FloatSlider(value=s.top_p, min=0.05, max=1.0, step=0.05, description="top_p")
        self.max_new_tokens = w.IntSlider(value=s.max_new_tokens, min=8, max=1024, step=8,
                                          description="max tokens")
        self.greedy = w.Checkbox(value=s.greedy, description="greedy (argmax)", indent=False)
        self.seed = w.IntText(value=s.seed if s.seed is not None else 0, description="seed",
                              layout=w.Layout(width="160px"))
        self.send = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.status = w.HTML()
        self.columns = w.GridBox(layout=w.Layout(grid_template_columns="repeat(3, minmax(0, 1fr))",
                                                 grid_gap="8px", width="100%"))
        self.greedy.observe(lambda change: self._sync_sampling(), names="value")
        self.send.on_click(lambda _button: self.run())
        self._sync_sampling()
        empty = w.HTML("<i>No saved model in this run yet: run 03_sft (or any training notebook) first.</i>")
        self.box = w.VBox([
            w.HBox([w.HTML("<b>models</b>&nbsp;"), *self.pick.values()]) if self.pick else empty,
            w.HBox([self.temperature, self.top_p, self.max_new_tokens]),
            w.HBox([self.greedy, self.seed, self.use_rm, self.ranked]),
            self.system, self.prompt, w.HBox([self.send, self.status]), self.columns])

    def _sync_sampling(self) -> None:
        self.temperature.disabled = self.top_p.disabled = self.greedy.value

    def settings(self) -> ChatSettings:
        return ChatSettings(temperature=self.temperature.value, top_p=self.top_p.value,
                            max_new_tokens=self.max_new_tokens.value, greedy=self.greedy.value, seed=self.seed.value,
                            system=self.system.value.strip())

    def selected(self) -> dict[str, ChatModel]:
        keys = [k for k, box in self.pick.items() if box.value]
        for key in keys:
            if key not in self.loaded:
                self.status.value = f"loading {html.escape(STAGES.get(key, key))} …"
                self.loaded[key] = load_chat_model(key, self.sources[key], self.profile)
        return {k: self.loaded[k] for k in keys}

    @staticmethod
    def _panel(title: str, text: str, note: str = "") -> str:
        return (f"<div style='border:1px solid #ccc;border-radius:6px;padding:6px'><b>{html.escape(title)}</b>"
                f"<span style='color:#666'>{note}</span><pre style='white-space:pre-wrap;margin:4px 0 0 0'>"
                f"{html.escape(text)}</pre></div>")

    def run(self) -> list[Answer]:
        import ipywidgets as w

        prompt = self.prompt.value.strip()
        if not prompt:
            self.status.value = "<i>type a prompt first</i>"
            return []
        self.send.disabled = True
        try:
            models = self.selected()
            if not models:
                self.status.value = "<i>tick at least one model</i>"
                return []
            if self.use_rm.value and self.rm is None:
                self.status.value = "loading the reward model …"
                self.rm = load_rm(self.run_dir, self.profile)
            panels = {k: w.HTML(self._panel(m.label, "")) for k, m in models.items()}
            self.columns.children = list(panels.values())
            streamed = {k: "" for k in models}

            def stream(key: str, text: str) -> None:
                streamed[key] += text
                panels[key].value = self._panel(models[key].label, streamed[key], " …")

            self.status.value = "generating …"
            rows = compare(models, prompt, self.settings(), rm=self.rm if self.use_rm.value else None,
                           stream=stream, ranked=self.ranked.value)
            for row in rows:
                note = f" · {row.tokens} tokens" + ("" if row.stopped else " (cut at max tokens)")
                if row.rm_score is not None:
                    note = f" · RM {row.rm_score:+.3f} (#{row.rank})" + note
                panels[row.model].value = self._panel(row.label, row.text, html.escape(note))
            self.columns.children = [panels[row.model] for row in rows]
            self.status.value = f"done: {len(rows)} answers" + (", sorted by RM score" if
                                                                 self.ranked.value and self.rm is not None and
                                                                 self.use_rm.value else "")
            self.rows = rows
            return rows
        except Exception as exc:  # shown in the UI, never a traceback lost in a callback
            self.status.value = f"<span style='color:#b00'>{html.escape(type(exc).__name__)}: " \
                                f"{html.escape(str(exc))}</span>"
            raise
        finally:
            self.send.disabled = False

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def chat_widget(run_dir: str | Path, profile=None, settings: ChatSettings | None = None) -> ChatUI:
    """The chat UI for the run in `run_dir` (the last expression of a cell displays it)."""
    return ChatUI(run_dir, profile, settings)


# ---- the terminal
def _print_rows(rows: list[Answer]) -> None:
    for row in rows:
        rm = f"  RM {row.rm_score:+.3f} (#{row.rank})" if row.rm_score is not None else ""
        end = "stopped at <|im_end|>" if row.stopped else "cut at max tokens"
        print(f"  {row.label:<16}{rm}  {row.tokens} tokens, {end}, {row.seconds:.1f}s")


def _parser() -> argparse.ArgumentParser:
    """The command line of `python -m helpers.learner.chat` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.learner.chat",
                                     description="Chat with every stage of a run.")
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--models", default="", help=f"comma-separated, of {','.join(STAGES)} (default: all found)")
    parser.add_argument("--rm", action="store_true", help="score (and rank) the answers with 04's reward model")
    parser.add_argument("--prompt", help="answer this one prompt and exit (default: read prompts until EOF)")
    parser.add_argument("--system", default="")
    parser.add_argument("--temperature", type=float, default=ChatSettings.temperature)
    parser.add_argument("--top-p", type=float, default=ChatSettings.top_p)
    parser.add_argument("--max-new-tokens", type=int, default=ChatSettings.max_new_tokens)
    parser.add_argument("--greedy", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", default=None, help="cpu | tiny | t4 | ampere | rehearsal (default: detected)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Answer one --prompt, or read prompts until EOF, 'exit' or 'quit'; every chosen model answers each one."""
    parser = _parser()
    args = parser.parse_args(argv)
    hf_logging.disable_progress_bar()  # no "Loading weights" bar per model between the answers

    profile = get_profile(args.profile) if args.profile else get_profile()
    found = available_models(args.run_dir, profile)
    wanted = [k.strip() for k in args.models.split(",") if k.strip()] or list(found)
    missing = [k for k in wanted if k not in found]
    if missing:
        parser.error(f"not in {args.run_dir}: {', '.join(missing)} (found: {', '.join(found) or 'nothing'})")
    models = load_chat_models({k: found[k] for k in wanted}, profile)
    rm = load_rm(args.run_dir, profile) if args.rm else None
    if args.rm and rm is None:
        print(f"No reward model (04_rm) in {args.run_dir}: answers are not scored.")
    settings = ChatSettings(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                            greedy=args.greedy, seed=args.seed, system=args.system)
    print(f"Models: {', '.join(m.label for m in models.values())}" + (f"; scored by {RM_LABEL}" if rm else ""))

    def one(prompt: str) -> list[Answer]:
        current = [None]

        def stream(key: str, text: str) -> None:
            if current[0] != key:
                print(f"\n── {models[key].label}\n", end="", flush=True)
                current[0] = key
            print(text, end="", flush=True)

        rows = compare(models, prompt, settings, rm=rm, stream=stream)
        print("\n")
        _print_rows(rows)
        return rows

    if args.prompt is not None:
        one(args.prompt)
        return 0
    while True:
        try:
            prompt = input("\nprompt> ").strip()
        except EOFError:
            print()
            return 0
        if prompt in ("exit", "quit"):
            return 0
        if prompt:
            one(prompt)


if __name__ == "__main__":
    raise SystemExit(main())
