"""Shared fixtures: a tiny byte-level tokenizer and tiny random-init model (milliseconds to build)."""

from __future__ import annotations

import pytest

from helpers.profiles import get_profile

SAMPLE = [
    "The patient reports a headache and mild fever for two days.",
    "Drink water, rest, and see a doctor if the fever lasts more than three days.",
    "患者自述头痛伴低热两天。",
    "建议多喝水、注意休息，如发热超过三天请及时就医。",
    "Hypertension is high blood pressure; check it regularly.",
    "高血压患者应低盐饮食，规律服药，定期监测血压。",
] * 20


@pytest.fixture(scope="session")
def tiny_profile():
    return get_profile("tiny")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from helpers.tokenizer import byte_level_bpe, to_transformers

    return to_transformers(byte_level_bpe(SAMPLE, vocab_size=400))


@pytest.fixture()
def tiny_model(tiny_profile, tiny_tokenizer):
    from helpers.models import build_tiny_causal_lm

    return build_tiny_causal_lm(tiny_profile, tiny_tokenizer, seed=0)
