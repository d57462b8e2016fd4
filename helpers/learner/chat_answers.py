"""One prompt answered by each model under the same settings (seed, temperature, top_p or greedy), streamed, then
scored and ranked by the reward model."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import torch
from transformers import TextStreamer

from ..lm.generation import blank_generation_config, neutral_generation_config
from ..lm.models import autocast_for
from ..lm.rewards import reward_scores
from ..lm.templates import EOS
from .chat_models import ChatModel


@dataclass
class ChatSettings:
    """What the learner controls. greedy: argmax of the raw logits (temperature and top_p unused)."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 128
    greedy: bool = False
    seed: int | None = 0  # the same seed for every model, so a comparison is repeatable; None: fresh randomness
    system: str = ""  # an optional system message before the prompt


@dataclass
class Answer:
    text: str
    tokens: int  # new tokens, the stop token excluded
    stopped: bool  # True: ended with <|im_end|> / EOS; False: cut at max_new_tokens
    seconds: float
    model: str = ""
    label: str = ""
    rm_score: float | None = None
    rank: int | None = None  # 1 = the reward model's favourite

    def __str__(self) -> str:
        return self.text


def stop_token_ids(tokenizer) -> list[int]:
    """<|im_end|> (end of an assistant turn) and the tokenizer's EOS, those that exist."""
    ids = []
    im_end = tokenizer.convert_tokens_to_ids(EOS) if EOS in tokenizer.get_vocab() else None
    for i in (im_end, tokenizer.eos_token_id):
        if i is not None and i not in ids:
            ids.append(int(i))
    return ids


def generation_config(tokenizer, settings: ChatSettings):
    """helpers.lm.generation's neutral config with the learner's settings set explicitly: greedy, or sampling from
    softmax(logits / temperature) cut to the top_p nucleus (top_k off); stop at stop_token_ids."""
    config = neutral_generation_config(tokenizer, do_sample=not settings.greedy,
                                       temperature=max(float(settings.temperature), 1e-5),
                                       max_new_tokens=int(settings.max_new_tokens))
    if not settings.greedy:
        config.top_p = float(settings.top_p)
    config.eos_token_id = stop_token_ids(tokenizer)
    if config.pad_token_id is None:
        config.pad_token_id = config.eos_token_id[0]
    return config


def conversation(prompt: str | list[dict], settings: ChatSettings) -> list[dict]:
    """The messages sent to a model: the optional system message, then the prompt (a text or a message list)."""
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)
    if settings.system and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": settings.system})
    return messages


class _CallbackStreamer:
    """A transformers streamer (put/end) that hands each finished piece of text to `callback`."""

    def __init__(self, tokenizer, callback: Callable[[str], None]):
        class Streamer(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False):
                if text:
                    callback(text)

        self.inner = Streamer(tokenizer, skip_prompt=True, skip_special_tokens=True)

    def put(self, value):
        self.inner.put(value)

    def end(self):
        self.inner.end()


@torch.no_grad()
def answer(model, tokenizer, messages: list[dict], settings: ChatSettings | None = None,
           stream: Callable[[str], None] | None = None) -> Answer:
    """The model's reply to `messages` (ending with a user turn) under `settings`; `stream(text)` receives the reply
    piece by piece as it is generated (the pieces add up to Answer.text)."""
    settings = settings or ChatSettings()
    model.eval()
    device = next(model.parameters()).device
    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    input_ids = enc["input_ids"].to(device)
    config = generation_config(tokenizer, settings)
    if settings.seed is not None and not settings.greedy:
        torch.manual_seed(settings.seed)
    started = time.perf_counter()
    with blank_generation_config(model), autocast_for(model):
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), generation_config=config,
                             streamer=_CallbackStreamer(tokenizer, stream) if stream else None)
    new = out[0, input_ids.shape[1]:].tolist()
    stops = set(config.eos_token_id)
    stopped = bool(new) and new[-1] in stops
    if stopped:
        new = new[:-1]
    text = tokenizer.decode(new, skip_special_tokens=True)
    return Answer(text=text, tokens=len(new), stopped=stopped, seconds=time.perf_counter() - started)


def score(rm: ChatModel, messages: list[dict], answers: list[str]) -> list[float]:
    """The reward model's score of each answer to `messages` (helpers.lm.rewards.reward_scores)."""
    return reward_scores(rm.model, rm.tokenizer, [messages] * len(answers), answers)


def rank(rows: list[Answer]) -> list[Answer]:
    """`rows` sorted by RM score, best first, each with its rank (rows without a score keep their order, last)."""
    scored = sorted((r for r in rows if r.rm_score is not None), key=lambda r: -r.rm_score)
    for i, row in enumerate(scored, 1):
        row.rank = i
    return scored + [r for r in rows if r.rm_score is None]


def compare(models: dict[str, ChatModel], prompt: str | list[dict], settings: ChatSettings | None = None,
            rm: ChatModel | None = None, stream: Callable[[str, str], None] | None = None,
            ranked: bool = True) -> list[Answer]:
    """Each model's answer to `prompt` (same settings, same seed), scored by `rm` when given; with `ranked`, sorted
    best first by that score. `stream(key, text)` receives every model's reply as it is generated (first
    stream(key, "") when that model starts)."""
    settings = settings or ChatSettings()
    messages = conversation(prompt, settings)
    rows = []
    for key, chat in models.items():
        callback = None
        if stream:
            stream(key, "")
            callback = (lambda text, key=key: stream(key, text))
        row = answer(chat.model, chat.tokenizer, messages, settings, stream=callback)
        rows.append(replace(row, model=key, label=chat.label))
    if rm is not None and rows:
        for row, value in zip(rows, score(rm, messages, [r.text for r in rows])):
            row.rm_score = value
        if ranked:
            rows = rank(rows)
    return rows


def as_records(rows: list[Answer]) -> list[dict]:
    """Rows as dicts (e.g. for pandas.DataFrame)."""
    return [dict(model=r.label or r.model, rank=r.rank, rm_score=r.rm_score, answer=r.text, tokens=r.tokens,
                 stopped=r.stopped, seconds=round(r.seconds, 2)) for r in rows]
