"""Tokenizers: train BPE / WordPiece / Unigram pipelines, wrap them for transformers, extend a vocabulary."""

from __future__ import annotations

import copy
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from .templates import EOS, PAD, SPECIAL_TOKENS, apply_course_template

KINDS = ("bpe", "wordpiece", "unigram")
UNK = {"bpe": None, "wordpiece": "[UNK]", "unigram": "<unk>"}
_SPECIALS = {"bpe": SPECIAL_TOKENS, "wordpiece": ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], "unigram": ["<pad>", "<unk>", "<s>", "</s>"]}


def build_pipeline(kind: str) -> Tokenizer:
    """An untrained tokenizer of `kind` with its normaliser, pre-tokeniser, model and decoder set."""
    if kind == "bpe":  # GPT-2 / Qwen style: bytes in, no unknown token possible
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
    elif kind == "wordpiece":  # BERT style: lower-case, split CJK characters and punctuation, '##' continuations
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                                    lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
    elif kind == "unigram":  # SentencePiece style: spaces become '▁', a probabilistic vocabulary
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")])
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    else:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {KINDS}")
    return tok


def _trainer(kind: str, vocab_size: int):
    specials = _SPECIALS[kind]
    if kind == "bpe":
        return trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials, show_progress=False,
                                   initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    if kind == "wordpiece":
        return trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                         show_progress=False)
    return trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
                                   max_piece_length=8, shrinking_factor=0.75, show_progress=False)


def _post_processor(kind: str, tok: Tokenizer):
    """What is added after the model: BERT's [CLS] … [SEP], SentencePiece's <s> … </s>; nothing for a causal LM."""
    if kind == "bpe":
        return processors.ByteLevel(trim_offsets=False)
    cls, sep = ("[CLS]", "[SEP]") if kind == "wordpiece" else ("<s>", "</s>")
    return processors.TemplateProcessing(single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1",
                                         special_tokens=[(cls, tok.token_to_id(cls)), (sep, tok.token_to_id(sep))])


def train(kind: str, texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a `kind` tokenizer on `texts` and attach its post-processor."""
    tok = build_pipeline(kind)
    tok.train_from_iterator(list(texts), trainer=_trainer(kind, vocab_size))
    tok.post_processor = _post_processor(kind, tok)
    return tok


def byte_level_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A byte-level BPE with the course's special tokens (the kind a causal LM uses)."""
    return train("bpe", texts, vocab_size)


def normalized(kind: str, text: str) -> str:
    """`text` as the normaliser of `kind` leaves it: what a round trip can give back at best."""
    return build_pipeline(kind).normalizer.normalize_str(text)


def same_text(kind: str, original: str, decoded: str) -> bool:
    """Round-trip check: identity for BPE; equal up to the normaliser and spacing for WordPiece/Unigram."""
    if kind == "bpe":
        return decoded == unicodedata.normalize("NFC", original)
    return "".join(normalized(kind, original).split()) == "".join(decoded.split())


def pipeline_steps(tok: Tokenizer, text: str) -> list[tuple[str, object]]:
    """The effect of every stage of `tok` on `text`: normaliser, pre-tokeniser, model, post-processor, decoder."""
    norm = tok.normalizer.normalize_str(text) if tok.normalizer else text
    pieces = [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(norm)] if tok.pre_tokenizer else [norm]
    model_tokens = tok.encode(text, add_special_tokens=False).tokens
    with_specials = tok.encode(text).tokens
    decoded = tok.decode(tok.encode(text).ids)
    return [("normalizer", norm), ("pre-tokenizer", pieces), ("model", model_tokens),
            ("post-processor", with_specials), ("decoder", decoded)]


def stats(tok: Tokenizer, texts: Sequence[str], unk: str | None = None) -> dict[str, float]:
    """Tokens per character, unknown-token rate and share of the vocabulary used, on `texts`."""
    counts: Counter[int] = Counter()
    chars = 0
    for enc, text in zip(tok.encode_batch(list(texts), add_special_tokens=False), texts):
        counts.update(enc.ids)
        chars += len(text)
    n = sum(counts.values())
    unk_id = tok.token_to_id(unk) if unk else None
    return {"tokens_per_char": n / max(chars, 1), "unk_rate": counts.get(unk_id, 0) / max(n, 1) if unk_id is not None else 0.0,
            "vocab_used": len(counts) / tok.get_vocab_size()}


def to_transformers(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """Wrap a byte-level `tokenizers.Tokenizer` as a transformers tokenizer with the course's chat template."""
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS)
    apply_course_template(fast)
    return fast


def _is_cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


def domain_tokens(base: PreTrainedTokenizerBase, domain: PreTrainedTokenizerBase, texts: Iterable[str], n: int) -> list[str]:
    """Up to `n` domain terms the base splits into pieces, in the domain tokenizer's merge order (≈ frequency).

    Candidates are whole tokens of the domain tokenizer that are either Chinese terms (2+ characters) or whole
    English words of the domain corpus `texts` written with their leading space (" insulin"); fragments such
    as " fev" are left out because an added token matches wherever its text occurs.
    """
    words = set(re.findall(r"[A-Za-z]{3,}", " ".join(texts)))
    out: list[str] = []
    for _tok, idx in sorted(domain.get_vocab().items(), key=lambda kv: kv[1]):
        text = domain.decode([idx])
        core = text.strip()
        is_term = (len(core) >= 2 and _is_cjk(core) and text == core) or (text == " " + core and core in words)
        if idx in domain.all_special_ids or not is_term or text in out:
            continue
        if len(base.encode(text, add_special_tokens=False)) > 1:
            out.append(text)
        if len(out) == n:
            break
    return out


def extend(base: PreTrainedTokenizerBase, new_tokens: Sequence[str]) -> PreTrainedTokenizerBase:
    """A copy of `base` with `new_tokens` appended (every base id unchanged) and the course's chat template.

    An added token matches wherever its text occurs, before the base model sees the text: " fever" also
    matches the start of " feverish" (which then ends in "ish"); decoding stays exact.
    """
    ext = copy.deepcopy(base)
    ext.add_tokens([AddedToken(t, normalized=False, special=False, single_word=False) for t in new_tokens])
    apply_course_template(ext)
    return ext


def length_reduction(base: PreTrainedTokenizerBase, ext: PreTrainedTokenizerBase, texts: Sequence[str]) -> float:
    """By how much (%) `ext` shortens `texts` compared with `base`."""
    before = sum(len(base.encode(t, add_special_tokens=False)) for t in texts)
    after = sum(len(ext.encode(t, add_special_tokens=False)) for t in texts)
    return 100.0 * (before - after) / before


def tokens_per_char(tok: PreTrainedTokenizerBase, texts: Sequence[str]) -> float:
    """Tokens per character of `texts` under a transformers tokenizer (no special tokens): lower reads more text per
    token. Above 1 for Chinese, the tokenizer spells characters in byte pieces."""
    tokens = sum(len(tok.encode(t, add_special_tokens=False)) for t in texts)
    return tokens / max(sum(map(len, texts)), 1)


def exact_round_trip(tok: Tokenizer, texts: Sequence[str]) -> float:
    """Share of `texts` that decode(encode(text)) gives back character for character (no normaliser excused)."""
    return sum(tok.decode(tok.encode(t).ids) == t for t in texts) / max(len(texts), 1)


def course_tokenizer(profile) -> PreTrainedTokenizerBase:
    """Headless version of notebook 01's result: the base tokenizer extended with domain tokens, with template."""
    from ..env.sources import course_texts

    domain_train = course_texts(profile, "pt", "train", profile.tokenizer_docs)
    if profile.base_model:
        from transformers import AutoTokenizer

        base = AutoTokenizer.from_pretrained(profile.base_model, trust_remote_code=False)
    else:
        base = to_transformers(byte_level_bpe(course_texts(profile, "general", "train"), profile.tokenizer_vocab["general"]))
    domain = to_transformers(byte_level_bpe(domain_train, profile.tokenizer_vocab["domain"]))
    return extend(base, domain_tokens(base, domain, domain_train, profile.domain_tokens))
