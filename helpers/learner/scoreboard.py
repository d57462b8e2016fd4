"""The scoreboard of a run: every model the run saved (base, pt, sft, ppo, grpo, dpo, text2sql) scored on the same
held-out measures — what each stage bought. Rows are cached in <run>/scoreboard.json (a row is measured again only
when its model folder changed), so 06 and `make course` can both show it without measuring twice; the reward columns
of the models 05 and 06 measured are their own numbers (helpers.stages.memo), not a second sample."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from ..lm.evaluation import assistant_loss, perplexity
from ..lm.models import init_new_token_rows, load_causal_lm
from ..env.profiles import Profile
from ..env.runs import find_output, shown, stage_dir
from ..env.sources import course_records, course_texts

# (row, stage folder, model sub-folder) in the order the course builds them
MODELS = (("base", None, None), ("pt", "pt", "model"), ("sft", "sft", "model"), ("ppo", "ppo", "model"),
          ("grpo", "ppo", "grpo_model"), ("dpo", "dpo", "model"), ("text2sql", "text2sql", "model"))
COLUMNS = {  # column: (label, better)
    "domain_ppl": ("held-out domain perplexity (PT text)", "down"),
    "chat_ppl": ("held-out assistant-token perplexity (SFT chats)", "down"),
    "reward": ("held-out reward (RM score − cut-off penalty)", "up"),
    "rm_score": ("reward model's score alone", "up"),
    "eos_fraction": ("answers that end (EOS)", "up"),
    "response_length": ("answer length (tokens)", None),
}
FILE = "scoreboard.json"
N_EVAL = 16  # held-out blocks and chats per perplexity (the same for every model); rewards: 05's held-out prompts


def model_folders(root: Path, profile: Profile) -> dict[str, Path | str]:
    """{row: model folder} for every model of the run that exists (base: the profile's base model)."""
    out: dict[str, Path | str] = {}
    for row, stage, sub in MODELS:
        if stage is None:
            if profile.base_model:
                out[row] = profile.base_model
            continue
        folder = stage_dir(stage, root) / sub
        if (folder / "config.json").is_file():
            out[row] = folder
    return out


def _model(folder: Path | str, profile: Profile, tok):
    """A causal LM from `folder`, with a row for every token of the run's tokenizer (the base: 01's added rows
    initialised from their pieces, as 02 does)."""
    from transformers import AutoTokenizer

    model = load_causal_lm(folder, profile)
    if str(folder) == str(profile.base_model):
        init_new_token_rows(model, tok, AutoTokenizer.from_pretrained(folder, trust_remote_code=False))
    return model.eval()


def measure(model, tok, profile: Profile, reward_model, seed: int = 42, *, root: Path | None = None,
            folder: Path | str | None = None, reward_dir: Path | None = None) -> dict[str, float]:
    """The held-out measures of one model (see COLUMNS): perplexities on the first N_EVAL blocks and chats; the reward
    measures exactly as 05 takes them (its held-out prompts, length cap, penalty and seed), reused from 05/06 when
    they measured the same saved model (helpers.stages.memo)."""
    from ..rl.ppo import encode_prompts
    from ..stages.pt import group_texts
    from ..stages import settings_for
    from ..stages.memo import measured_once
    from ..stages.ppo import heldout_measure

    ppo = settings_for(profile, "ppo")  # 05's held-out measure: its prompts, length cap and cut-off penalty
    ids = tok(course_texts(profile, "pt", "valid"), add_special_tokens=False)["input_ids"]
    n = min(N_EVAL, ppo.eval_limit)
    blocks = group_texts(ids, settings_for(profile, "pt").max_length, tok.eos_token_id)[:n]
    chats = course_records(profile, "sft", "valid")["messages"][:n]
    row = {"domain_ppl": perplexity(model, blocks, label="domain perplexity"),
           "chat_ppl": math.exp(assistant_loss(model, tok, chats, settings_for(profile, "sft").max_length))}
    if reward_model is not None:
        prompts = encode_prompts(tok, course_records(profile, "preference", "valid", ppo.eval_limit)["prompt"],
                                 ppo.max_prompt_length)
        settings = dict(max_new_tokens=ppo.max_new_tokens, missing_eos_penalty=ppo.missing_eos_penalty, seed=seed)

        def sampled() -> dict:
            return heldout_measure(model, reward_model, tok, prompts, kl=False, **settings)

        m = measured_once(root, folder, reward_dir, prompts, sampled, **settings) if root else sampled()
        row.update(reward=m["reward"], rm_score=m["raw_score"], eos_fraction=m["eos_fraction"],
                   response_length=m["response_length"])
    return row


def scoreboard(root: Path, profile: Profile, seed: int = 42) -> dict[str, dict]:
    """{row: measures} for every saved model of the run, measured now unless cached for the same model files."""
    from transformers import AutoTokenizer

    from ..lm.models import load_reward_model
    from ..stages.memo import weights_of

    path = Path(root) / FILE
    cache = json.loads(path.read_text()) if path.is_file() else {}
    folders = model_folders(Path(root), profile)
    todo = {r: f for r, f in folders.items() if cache.get(r, {}).get("stamp") != weights_of(f)}
    if todo:
        tok_dir = find_output("sft", root) or find_output("tokenizer", root) or profile.base_model
        tok = AutoTokenizer.from_pretrained(tok_dir)
        rm_dir = find_output("rm", root)
        rm = load_reward_model(rm_dir, profile, tok).eval() if rm_dir else None
        for row, folder in todo.items():
            print(f"Scoring {row} ({shown(folder)}) on the held-out measures ...", flush=True)
            if row != "base" and AutoTokenizer.from_pretrained(folder).get_vocab() != tok.get_vocab():
                print(f"  {row}: skipped — it reads another tokenizer (e.g. the SQL model's own).", flush=True)
                continue
            torch.manual_seed(seed)
            model = _model(folder, profile, tok)
            cache[row] = dict(measure(model, tok, profile, rm, seed, root=Path(root), folder=folder, reward_dir=rm_dir),
                              stamp=weights_of(folder))
            del model
        path.write_text(json.dumps(cache, indent=1))
    return {r: cache[r] for r in folders if r in cache}


def table(board: dict[str, dict]):
    """The scoreboard as a DataFrame: one row per model, one column per measure (labels of COLUMNS)."""
    import pandas as pd

    frame = pd.DataFrame({r: {k: v for k, v in m.items() if k in COLUMNS} for r, m in board.items()}).T
    return frame.rename(columns={k: label for k, (label, _) in COLUMNS.items()})


def figure(board: dict[str, dict]):
    """One panel per measure, one bar per model, the arrow in the title saying which way is better."""
    import matplotlib.pyplot as plt

    cols = [c for c in COLUMNS if any(c in m for m in board.values())]
    fig, axes = plt.subplots(1, len(cols), figsize=(3.2 * len(cols), 3))
    for ax, col in zip(axes if len(cols) > 1 else [axes], cols):
        label, better = COLUMNS[col]
        rows = [r for r in board if col in board[r]]
        ax.bar(rows, [board[r][col] for r in rows], color="tab:blue")
        ax.set_title(label + {"up": " ↑", "down": " ↓", None: ""}[better], fontsize=8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    fig.tight_layout()
    return fig


def lines(board: dict[str, dict]) -> list[str]:
    """The scoreboard as text lines (for `make course`)."""
    return table(board).round(3).to_string().splitlines()
