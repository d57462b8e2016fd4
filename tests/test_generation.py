"""Decoding ignores the model's own generation_config: PPO samples from softmax(logits / T) of the policy (the
distribution whose log-probs it trains on), and evaluation / text-to-SQL decode greedily (argmax of the raw logits)."""

from __future__ import annotations

import pytest
import torch
from transformers import GenerationConfig, WatermarkingConfig

from helpers.rl import ppo
from helpers.lm.evaluation import generate_answers
from helpers.lm.models import build_tiny_causal_lm
from helpers.stages import text2sql

QUESTIONS = ["The patient reports a headache.", "高血压患者应低盐饮食。", "Drink water and rest."]


def reshaping_config(tok, everything: bool = True) -> GenerationConfig:
    """A generation_config.json that reshapes the next-token distribution in every way generate() knows (Qwen2.5-
    Instruct ships repetition_penalty 1.1, top_k 20, top_p 0.8, temperature 0.7); `everything`: also beam search,
    several sequences, a minimum length, a time limit and a dict output."""
    eos = tok.eos_token_id
    config = GenerationConfig(
        do_sample=True, temperature=0.3, top_k=1, top_p=0.1, min_p=0.5, typical_p=0.2, epsilon_cutoff=0.01,
        eta_cutoff=0.01, repetition_penalty=100.0, no_repeat_ngram_size=1, bad_words_ids=[[17], [18]],
        suppress_tokens=[eos, 19], begin_suppress_tokens=[20, 21], forced_bos_token_id=22, forced_eos_token_id=24,
        exponential_decay_length_penalty=(1, 3.0), sequence_bias={(23,): 10.0}, renormalize_logits=True,
        guidance_scale=3.0, watermarking_config=WatermarkingConfig(bias=8.0), pad_token_id=tok.pad_token_id,
        eos_token_id=eos)
    if everything:
        config.update(min_new_tokens=5, min_length=30, num_beams=2, num_return_sequences=2, max_time=1e-6,
                      return_dict_in_generate=True, output_scores=True)
    return config


@pytest.fixture(params=["logits", "everything"])
def twins(request, tiny_profile, tiny_tokenizer):
    """The same random-init weights twice: with transformers' default generation_config and with reshaping_config."""
    plain = build_tiny_causal_lm(tiny_profile, tiny_tokenizer, seed=0)
    shaped = build_tiny_causal_lm(tiny_profile, tiny_tokenizer, seed=0)
    shaped.generation_config = reshaping_config(tiny_tokenizer, everything=request.param == "everything")
    return plain, shaped


@pytest.fixture()
def prompts(tiny_tokenizer):
    return ppo.encode_prompts(tiny_tokenizer, [[{"role": "user", "content": q}] for q in QUESTIONS], 64)


def test_ppo_samples_ignore_the_model_generation_config(twins, prompts, tiny_tokenizer):
    plain, shaped = twins
    for temperature in (1.0, 0.7):
        expected = ppo.sample(plain, tiny_tokenizer, prompts, 12, temperature=temperature, seed=3)
        got = ppo.sample(shaped, tiny_tokenizer, prompts, 12, temperature=temperature, seed=3)
        assert all(torch.equal(a, b) for a, b in zip(expected, got))
    assert shaped.generation_config.repetition_penalty == 100.0  # left as it was


def test_ppo_samples_of_a_peft_policy_ignore_the_model_generation_config(twins, prompts, tiny_profile,
                                                                          tiny_tokenizer):
    from peft import get_peft_model

    from helpers.lm.models import lora_config

    plain, shaped = (get_peft_model(m, lora_config(tiny_profile)) for m in twins)
    expected = ppo.sample(plain, tiny_tokenizer, prompts, 12, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(expected, ppo.sample(shaped, tiny_tokenizer, prompts, 12, seed=5)))


def test_greedy_answers_ignore_the_model_generation_config(twins, tiny_tokenizer):
    plain, shaped = twins
    conversations = [[{"role": "user", "content": q}] for q in QUESTIONS]
    expected = generate_answers(plain, tiny_tokenizer, conversations, max_new_tokens=10)
    assert generate_answers(shaped, tiny_tokenizer, conversations, max_new_tokens=10) == expected
    assert any(expected)


def test_generate_sql_ignores_the_model_generation_config(twins, tiny_tokenizer, monkeypatch):
    plain, shaped = twins
    monkeypatch.setattr(text2sql.sql, "extract_sql", lambda text: text)  # compare the whole completions
    expected = text2sql.generate_sql(plain, tiny_tokenizer, QUESTIONS, max_new_tokens=10, batch_size=2)
    assert text2sql.generate_sql(shaped, tiny_tokenizer, QUESTIONS, max_new_tokens=10, batch_size=2) == expected
    assert any(expected)


def test_greedy_is_the_argmax_of_the_raw_logits_until_eos(tiny_model, tiny_tokenizer, prompts):
    from helpers.lm.generation import generate_plain

    tiny_model.generation_config = reshaping_config(tiny_tokenizer)
    ids = torch.tensor([prompts[0]])
    out = generate_plain(tiny_model, tiny_tokenizer, ids, max_new_tokens=6)
    assert out.shape == (1, ids.shape[1] + 6)  # no EOS from a random model in 6 tokens: max_new_tokens as given
    with torch.no_grad():
        for t in range(ids.shape[1], out.shape[1]):
            assert out[0, t] == tiny_model(out[:, :t]).logits[0, -1].argmax()
    # a model whose argmax is EOS stops there
    with torch.no_grad():
        tiny_model.lm_head.bias = torch.nn.Parameter(torch.zeros(len(tiny_tokenizer)))
        tiny_model.lm_head.bias[tiny_tokenizer.eos_token_id] = 100.0
    out = generate_plain(tiny_model, tiny_tokenizer, ids, max_new_tokens=6)
    assert out[0, ids.shape[1]:].tolist() == [tiny_tokenizer.eos_token_id]


def test_sampling_builds_no_logits_processor_but_the_temperature(tiny_model, tiny_tokenizer, prompts, monkeypatch):
    """generate() applies exactly the processors _get_logits_processor builds; with a reshaping generation_config
    on the model there must be none but the temperature (and nothing stops generation but length and EOS)."""
    from transformers.generation.logits_process import TemperatureLogitsWarper
    from transformers.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria

    tiny_model.generation_config = reshaping_config(tiny_tokenizer)
    built = {}
    for name in ("_get_logits_processor", "_get_stopping_criteria"):
        real = getattr(tiny_model, name)
        monkeypatch.setattr(tiny_model, name, lambda *a, _real=real, _name=name, **k: built.setdefault(_name,
                                                                                                     _real(*a, **k)))
    ppo.sample(tiny_model, tiny_tokenizer, prompts, 4, temperature=0.7, seed=0)
    assert [type(p) for p in built["_get_logits_processor"]] == [TemperatureLogitsWarper]
    assert {type(c) for c in built["_get_stopping_criteria"]} == {MaxLengthCriteria, EosTokenCriteria}
    built.clear()
    ppo.sample(tiny_model, tiny_tokenizer, prompts, 4, temperature=1.0, seed=0)
    assert list(built["_get_logits_processor"]) == []


def test_sampled_token_frequencies_match_softmax_of_logits_over_t(tiny_model, tiny_tokenizer, prompts):
    """Many one-token samples for one prompt: their frequencies are softmax(logits / T) (chi-square), with a
    Qwen-like generation_config on the model."""
    tiny_model.generation_config = GenerationConfig(do_sample=True, temperature=0.7, top_k=20, top_p=0.8,
                                                    repetition_penalty=1.5, min_p=0.05, typical_p=0.9)
    with torch.no_grad():
        tiny_model.lm_head.weight.mul_(10.0)  # a random model is nearly uniform over 400 tokens: make it peaked
    T, n = 0.7, 4000
    with torch.no_grad():
        p = torch.softmax(tiny_model(torch.tensor([prompts[0]])).logits[0, -1].float() / T, -1)
    _, _, responses = ppo.sample(tiny_model, tiny_tokenizer, [prompts[0]] * n, 1, temperature=T, seed=0)
    counts = torch.bincount(responses[:, 0], minlength=len(p)).double()
    expected = n * p.double()
    big = expected >= 10  # chi-square cells: the likely tokens one by one, the rest lumped together
    observed_cells = torch.cat([counts[big], counts[~big].sum()[None]])
    expected_cells = torch.cat([expected[big], expected[~big].sum()[None]])
    chi2 = float(((observed_cells - expected_cells) ** 2 / expected_cells).sum())
    df = len(observed_cells) - 1
    assert 10 <= df < 200 and p.max() < 0.5, (df, float(p.max()))  # a distribution worth testing
    assert chi2 < df + 5 * (2 * df) ** 0.5, (chi2, df)  # ~5 standard deviations above the mean of χ²(df)


def test_neutral_fields_are_real_generation_config_fields():
    """GenerationConfig keeps unknown keywords as custom entries without a word: a misspelt field would do nothing."""
    from helpers.lm.generation import NEUTRAL, NEUTRAL_SAMPLING

    blank = GenerationConfig()
    assert [k for k in {**NEUTRAL, **NEUTRAL_SAMPLING} if not hasattr(blank, k)] == []
