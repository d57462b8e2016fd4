"""Reward models: the tiny one-label sequence classifier, and scoring (prompt, answer) pairs with a reward model."""

from __future__ import annotations

import math
import random

import torch
from transformers import AutoModelForSequenceClassification, PreTrainedModel, PreTrainedTokenizerBase

from .models import autocast_for, tiny_config
from ..env.profiles import Profile
from ..env.progress import progress


def build_tiny_reward_model(profile: Profile, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> PreTrainedModel:
    """A random-init one-label sequence classifier of the tiny architecture (the CI stand-in for a reward model)."""
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(tiny_config(profile, tokenizer, num_labels=1))


def conversation_ids(tokenizer: PreTrainedTokenizerBase, prompt: list[dict], answer: str) -> list[int]:
    """Token ids of `prompt` + the assistant `answer` through the chat template, as TRL's RewardTrainer tokenises."""
    messages = list(prompt) + [{"role": "assistant", "content": answer}]
    return list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])


def cut_conversation(tokenizer: PreTrainedTokenizerBase, prompt: list[dict], answer: str, rng: random.Random,
                     low: float = 0.3, high: float = 0.9) -> tuple[list[int], list[int]] | None:
    """(the complete conversation's ids, the same conversation cut inside the answer): the prompt with its generation
    prompt and the answer's first `low`–`high` share of tokens, with no end of turn — what a rollout cut off at the
    length cap looks like to the reward model in 05. None where the template does not write the prompt as a prefix
    of the conversation, or the answer is under 4 tokens."""
    full = conversation_ids(tokenizer, prompt, answer)
    head = list(tokenizer.apply_chat_template(list(prompt), add_generation_prompt=True, return_dict=True)["input_ids"])
    ends = [i for i, t in enumerate(full) if t == tokenizer.eos_token_id and i >= len(head)]
    if full[:len(head)] != head or not ends or ends[0] - len(head) < 4:
        return None
    n = ends[0] - len(head)  # the answer's tokens, its end-of-turn token excluded
    keep = rng.randint(max(1, math.ceil(low * n)), max(1, int(high * n)))
    return full, full[:len(head) + keep]


def cut_pairs(tokenizer: PreTrainedTokenizerBase, prompts: list[list[dict]], answers: list[str], share: float,
              seed: int, max_length: int | None = None) -> list[dict[str, list[int]]]:
    """Preference pairs in TRL's tokenised form ({"chosen_ids", "rejected_ids"}): a complete answer preferred to its own
    cut beginning (cut_conversation), for a seeded `share` of the (prompt, answer) rows. Trained on them, a reward
    model stops paying for unfinished answers — the length hack PPO finds otherwise (05)."""
    rng = random.Random(seed)
    picked = sorted(rng.sample(range(len(prompts)), round(share * len(prompts))))
    pairs = []
    for i in picked:
        cut = cut_conversation(tokenizer, prompts[i], answers[i], rng)
        if cut and (max_length is None or len(cut[0]) <= max_length):
            pairs.append({"chosen_ids": cut[0], "rejected_ids": cut[1]})
    return pairs


@torch.no_grad()
def reward_scores(model, tokenizer: PreTrainedTokenizerBase, prompts: list[list[dict]], answers: list[str],
                  batch_size: int = 16, max_length: int | None = None) -> list[float]:
    """The scalar reward of each (prompt, answer): the classifier's logit at the last token of the conversation.

    Sequences are right-padded with the pad token (the model reads the score at the last non-pad token); with
    `max_length`, longer ones keep their last `max_length` tokens, so the end of the answer is always scored.
    """
    if len(prompts) != len(answers):
        raise ValueError(f"{len(prompts)} prompts but {len(answers)} answers")
    pad = tokenizer.pad_token_id
    if pad is None or model.config.pad_token_id != pad:
        raise ValueError(f"the reward model's config.pad_token_id ({model.config.pad_token_id}) must be the "
                         f"tokenizer's pad token id ({pad}) to find the last token of each sequence")
    rows = [conversation_ids(tokenizer, p, a) for p, a in zip(prompts, answers)]
    if max_length is not None:
        rows = [x[-max_length:] for x in rows]
    return row_scores(model, pad, rows, batch_size)


@torch.no_grad()
def row_scores(model, pad: int, rows: list[list[int]], batch_size: int = 16) -> list[float]:
    """The reward model's score of each token-id row (right-padded with `pad`, read at the last real token)."""
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(rows)), key=lambda j: -len(rows[j]))  # similar lengths batched: little padding
    scores = [0.0] * len(rows)
    for i in progress(range(0, len(order), batch_size), desc="reward scores"):
        ids = [rows[j] for j in order[i:i + batch_size]]
        width = max(map(len, ids))
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=device)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=device)
        with autocast_for(model):  # half-precision base, float32 trained parts
            logits = model(input_ids=input_ids, attention_mask=mask).logits
        for j, value in zip(order[i:i + batch_size], logits[:, 0].float().tolist()):
            scores[j] = value
    return scores


# ---- held-out measurements (helpers.stages.ppo.heldout_measure) side by side, and a reward gain taken apart

MEASURES = {"reward": "held-out reward (RM score − cut-off penalty)", "raw_score": "reward model's score alone",
            "eos_fraction": "answers that end (EOS)", "response_length": "mean length (tokens)",
            "kl": "KL to 03's model (nats per answer)"}


def measure_table(measured: dict[str, dict]):
    """One row per model, one column per held-out measure (MEASURES) of heldout_measure's results."""
    import pandas as pd

    return pd.DataFrame({label: {MEASURES[k]: m.get(k, float("nan")) for k in MEASURES}
                         for label, m in measured.items()}).T


def reward_parts(before: dict, after: dict, penalty: float) -> dict[str, float]:
    """A held-out reward change split exactly: Δreward = Δ(RM score alone) + penalty · Δ(share of answers that end)."""
    d_eos = after["eos_fraction"] - before["eos_fraction"]
    return dict(reward=after["reward"] - before["reward"], rm_score=after["raw_score"] - before["raw_score"],
                cutoff=penalty * d_eos, eos_fraction=d_eos,
                response_length=after["response_length"] - before["response_length"])


def answer_ended(measured: dict) -> list[bool]:
    """Whether each held-out answer of a heldout_measure result ended (an older record without the list: its reward
    fell short of its score by the cut-off penalty)."""
    if "ended" in measured:
        return [bool(e) for e in measured["ended"]]
    return [abs(r - s) < 1e-9 for r, s in zip(measured["raw_scores"], measured["scores"])]


def ended_alike(before: dict, after: dict) -> dict[str, float]:
    """Like for like: the held-out prompts whose sampled answer ended both before and after; their number `n` and
    the reward model's mean score of those answers `before` and `after`. A rise here is not answers ending more
    often (a reward model trained with 04's cut pairs scores an unfinished answer low): it is ended answers the
    reward model likes better."""
    both = [i for i, (b, a) in enumerate(zip(answer_ended(before), answer_ended(after))) if b and a]
    mean = lambda m: sum(m["raw_scores"][i] for i in both) / len(both) if both else float("nan")  # noqa: E731
    return dict(n=len(both), before=mean(before), after=mean(after))


def reward_gain_sentence(before: dict, after: dict, penalty: float, name: str, start: str = "03's model") -> str:
    """What a held-out reward change is made of, in words: the reward model's score alone, or answers that end; then
    the like-for-like comparison (ended_alike)."""
    alike = ended_alike(before, after)
    if not alike["n"]:
        return _gain_sentence(before, after, penalty, name, start) + " No prompt's answer ended both times."
    verdict = ("the ended answers themselves score higher" if alike["after"] > alike["before"] else
               "the ended answers themselves score no higher, so what rose is how many answers end")
    return (_gain_sentence(before, after, penalty, name, start) + f" Like for like — the {alike['n']} prompts whose "
            f"answer ended both times — the reward model's score went {alike['before']:+.3f} → {alike['after']:+.3f}: "
            f"{verdict}.")


def _gain_sentence(before: dict, after: dict, penalty: float, name: str, start: str) -> str:
    d = reward_parts(before, after, penalty)
    ended = f"answers that end {before['eos_fraction']:.0%} → {after['eos_fraction']:.0%}"
    length = f"mean length {before['response_length']:.1f} → {after['response_length']:.1f} tokens"
    rm = f"{before['raw_score']:+.3f} → {after['raw_score']:+.3f}"
    unfinished = ("the direction of the hack shown in 05 (section 6): unfinished answers that the reward model scores "
                  "well")
    if d["reward"] <= 0:
        head = (f"{name}'s held-out reward did not rise ({start} {before['reward']:+.3f}, {name} "
                f"{after['reward']:+.3f})")
        if d["rm_score"] > 0 and d["eos_fraction"] < 0:
            return (f"{head}, although the reward model's score alone rose ({rm}): fewer answers end ({ended}; "
                    f"{length}), and the cut-off part, {d['cutoff']:+.3f}, outweighed the score. That is {unfinished}"
                    f" — held back, here, by the penalty.")
        return f"{head}; the reward model's score alone {rm}, {ended}. Nothing was gained by this measure."
    if d["rm_score"] <= 0:
        moved = "fell" if d["rm_score"] < 0 else "did not move"
        return (f"{name}'s held-out reward rose by {d['reward']:+.3f}, but the reward model's score alone {moved} "
                f"({rm}): the gain comes entirely from the cut-off part, {d['cutoff']:+.3f} ({ended}; {length}). "
                f"That is a reward hack via answers that end: the cheapest way to raise this reward was to stop "
                f"early and escape the penalty of {penalty:g}, while by the reward model's own judgement the answers "
                f"got {'worse' if d['rm_score'] < 0 else 'no better'}.")
    if d["cutoff"] < 0:
        return (f"{name}'s held-out reward rose by {d['reward']:+.3f}, all of it from the reward model's score alone "
                f"({rm}, {d['rm_score']:+.3f}), while fewer answers end ({ended}, {d['cutoff']:+.3f}; {length}): "
                f"{unfinished}. Read the answers before calling it better.")
    share = d["rm_score"] / d["reward"]
    how = ("The reward model's score alone carries most of it" if share >= 0.5 else
           "Most of the gain is the cut-off part; the reward model's score alone rose a little")
    return (f"{name}'s held-out reward rose by {d['reward']:+.3f}: {d['rm_score']:+.3f} from the reward model's score "
            f"alone ({rm}, {share:.0%} of the gain) and {d['cutoff']:+.3f} from the cut-off part ({ended}; "
            f"{length}). {how} — the judgement of a learned model with blind spots (04), so read the answers too.")
