"""Tokenizer pipelines: round trips on Chinese and English, statistics, and vocabulary extension."""

import pytest

from helpers.lm.tokenizer import (KINDS, UNK, byte_level_bpe, domain_tokens, extend, length_reduction, normalized,
                                  pipeline_steps, same_text, stats, to_transformers, train)

from .conftest import SAMPLE

TEXTS = [
    "The patient reports a headache and mild fever for two days.",
    "Hypertension is high blood pressure; check it regularly.",
    "患者自述头痛伴低热两天。",
    "高血压患者应低盐饮食，规律服药。",
    "Drink water, check blood pressure; 高血压 fever.",
]
UNSEEN = "Mixed 中英文 text: 140/90 mmHg, ξψω ☤."  # characters the tokenizers never saw in training


@pytest.fixture(scope="module")
def trained():
    return {kind: train(kind, SAMPLE, 400) for kind in KINDS}


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(trained, kind, text):
    tok = trained[kind]
    decoded = tok.decode(tok.encode(text).ids)
    if kind == "bpe":
        assert decoded == text  # byte-level: exact identity, whatever the script
    else:
        assert same_text(kind, text, decoded), (normalized(kind, text), decoded)


def test_only_byte_level_bpe_round_trips_unseen_characters(trained):
    assert trained["bpe"].decode(trained["bpe"].encode(UNSEEN).ids) == UNSEEN
    for kind in ("wordpiece", "unigram"):
        tok = trained[kind]
        enc = tok.encode(UNSEEN)
        assert tok.token_to_id(UNK[kind]) in enc.ids
        assert not same_text(kind, UNSEEN, tok.decode(enc.ids))


def test_round_trip_detects_a_change(trained):
    assert not same_text("bpe", "blood pressure", "blood  pressure")
    assert not same_text("wordpiece", "blood pressure", "blood pressur")


def test_wordpiece_normalizer_is_documented_change():
    # lower-cases, strips accents and isolates CJK characters: the round trip returns this, not the input
    assert normalized("wordpiece", "Héllo 血压") == "hello  血  压 "


def test_post_processors_add_their_special_tokens(trained):
    assert trained["wordpiece"].encode("fever").tokens[0] == "[CLS]"
    assert trained["unigram"].encode("fever").tokens[-1] == "</s>"
    assert trained["bpe"].encode("fever").tokens == trained["bpe"].encode("fever", add_special_tokens=False).tokens


def test_pipeline_steps_names_every_stage(trained):
    steps = [name for name, _ in pipeline_steps(trained["unigram"], "头痛 fever")]
    assert steps == ["normalizer", "pre-tokenizer", "model", "post-processor", "decoder"]


def test_stats_unknown_rate(trained):
    unseen = ["ξψω ∮∯∰ ☤⚕"]  # characters absent from the training sample
    assert stats(trained["bpe"], unseen)["unk_rate"] == 0.0  # bytes: never unknown
    assert stats(trained["wordpiece"], unseen, UNK["wordpiece"])["unk_rate"] > 0.5
    s = stats(trained["bpe"], SAMPLE)
    assert 0 < s["tokens_per_char"] < 1 and 0 < s["vocab_used"] <= 1


@pytest.fixture(scope="module")
def base_and_extended():
    general = ["The weather is sunny and we walked to the market to buy food.", "今天天气很好，我们去公园散步。"] * 30
    base = to_transformers(byte_level_bpe(general, 350))
    domain = to_transformers(byte_level_bpe(SAMPLE, 600))
    new = domain_tokens(base, domain, SAMPLE, 40)
    return base, extend(base, new), new


def test_extension_keeps_every_base_id(base_and_extended):
    base, ext, new = base_and_extended
    ext_vocab = ext.get_vocab()
    assert all(ext_vocab[tok] == idx for tok, idx in base.get_vocab().items())
    assert len(ext) == len(base) + len(new)
    assert sorted(ext_vocab[t] for t in new) == list(range(len(base), len(ext)))


def test_domain_tokens_are_terms_not_fragments(base_and_extended):
    _, _, new = base_and_extended
    assert "高血压" in new or "血压" in new
    assert " fever" in new
    assert all(t.strip() and (t.startswith(" ") or not t.isascii()) for t in new)


@pytest.mark.parametrize("text", TEXTS + ["prediabetes and feverish 高血压患者"])
def test_extended_round_trip(base_and_extended, text):
    _, ext, _ = base_and_extended
    assert ext.decode(ext.encode(text, add_special_tokens=False)) == text


def test_extension_shortens_domain_text(base_and_extended):
    base, ext, _ = base_and_extended
    assert length_reduction(base, ext, TEXTS) > 10


def test_saved_tokenizer_keeps_template_and_markers(base_and_extended, tmp_path):
    from transformers import AutoTokenizer

    _, ext, _ = base_and_extended
    ext.save_pretrained(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert "{% generation %}" in tok.chat_template.replace("{%- generation %}", "{% generation %}")
    chat = [{"role": "user", "content": "头痛怎么办"}, {"role": "assistant", "content": "Rest and drink water."}]
    enc = tok.apply_chat_template(chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    learned = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tok.decode(learned) == "Rest and drink water.<|im_end|>"
