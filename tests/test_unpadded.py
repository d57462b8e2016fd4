"""helpers.lm.unpadded: on a CPU a padded batch runs row by row without its padding, with the padded batch's numbers."""

from __future__ import annotations

import copy

import torch

from helpers.lm.unpadded import ROWS_ATTR, body_of, spans, unpadded_backbone


def padded_batch(vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Four rows of 5–12 real tokens: left-padded, right-padded and unpadded rows in one batch."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (4, 12), generator=g)
    attn = torch.ones_like(ids)
    attn[0, :4] = 0   # left padding
    attn[1, 7:] = 0   # right padding
    attn[2, :2] = 0
    attn[2, 10:] = 0  # both
    return ids, attn


def test_spans_are_the_first_and_last_real_tokens():
    _, attn = padded_batch(50)
    assert spans(attn) == [(4, 12), (0, 7), (2, 10), (0, 12)]


def test_a_causal_lm_gives_the_padded_batchs_logits_and_gradients(tiny_model, tiny_tokenizer):
    ids, attn = padded_batch(len(tiny_tokenizer))
    real = attn.bool()
    rows_model = copy.deepcopy(tiny_model)
    assert unpadded_backbone(rows_model) and getattr(body_of(rows_model), ROWS_ATTR)
    assert not getattr(body_of(tiny_model), ROWS_ATTR, False)  # the copy was patched, not the original
    results = []
    for model in (tiny_model, rows_model):
        model.zero_grad()
        logits = model(input_ids=ids, attention_mask=attn).logits
        logits[real].logsumexp(-1).sum().backward()
        results.append((logits[real].detach(), [p.grad.clone() for p in model.parameters()]))
    assert (logits[~real] == 0).all()  # the rows really ran unpadded: nothing was computed at padded positions
    (padded, padded_grads), (rows, rows_grads) = results
    assert torch.allclose(rows, padded, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(rows_grads, padded_grads))


def test_a_reward_model_scores_as_in_the_padded_batch(tiny_profile, tiny_tokenizer):
    from helpers.lm.rewards import build_tiny_reward_model

    reward_model = build_tiny_reward_model(tiny_profile, tiny_tokenizer, seed=1)
    reward_model.config.pad_token_id = tiny_tokenizer.pad_token_id
    ids = torch.randint(3, len(tiny_tokenizer), (3, 10), generator=torch.Generator().manual_seed(1))
    attn = torch.ones_like(ids)
    attn[0, 6:], attn[1, 3:] = 0, 0
    ids = ids.masked_fill(attn == 0, tiny_tokenizer.pad_token_id)  # right-padded, as RewardTrainer's collator pads
    with torch.no_grad():
        padded = reward_model(input_ids=ids, attention_mask=attn).logits
        unpadded_backbone(reward_model)
        rows = reward_model(input_ids=ids, attention_mask=attn).logits
        hidden = body_of(reward_model)(input_ids=ids, attention_mask=attn).last_hidden_state
    assert (hidden[attn == 0] == 0).all()  # run unpadded
    assert torch.allclose(rows, padded, atol=1e-5)


def test_generation_and_deep_copies_are_unchanged(tiny_model, tiny_tokenizer):
    ids, attn = padded_batch(len(tiny_tokenizer))
    ids, attn = ids[[0, 3]], attn[[0, 3]]  # left-padded prompts
    settings = dict(max_new_tokens=5, do_sample=False, pad_token_id=tiny_tokenizer.pad_token_id)
    with torch.no_grad():
        before = tiny_model.generate(input_ids=ids, attention_mask=attn, **settings)
        unpadded_backbone(tiny_model)
        after = tiny_model.generate(input_ids=ids, attention_mask=attn, **settings)
        twin = copy.deepcopy(tiny_model)
        assert body_of(twin).forward.__self__ is body_of(twin)  # bound to the copy, not to the original
        assert torch.equal(twin(input_ids=ids, attention_mask=attn).logits,
                           tiny_model(input_ids=ids, attention_mask=attn).logits)
    assert torch.equal(before, after)


def test_padded_switches_every_path_back_to_the_padded_batch(tiny_model, tiny_tokenizer):
    """Inside padded() (side-by-side timing, tools/bench_unpadded.py) the padded batch runs as on a GPU."""
    from helpers.lm.unpadded import padded, row_by_row_on_cpu, window_rows

    ids, attn = padded_batch(len(tiny_tokenizer))
    unpadded_backbone(tiny_model)
    calls = []

    def fn(i, a, *keep):
        calls.append(tuple(i.shape))
        return tiny_model(input_ids=i, attention_mask=a).logits[:, -1:]

    with torch.no_grad(), padded():
        hidden = body_of(tiny_model)(input_ids=ids, attention_mask=attn).last_hidden_state
        row_by_row_on_cpu(fn, ids, attn)
        window_rows(fn, ids, attn, 6, 2)
    assert (hidden[attn == 0] != 0).any()  # computed at the padded positions
    assert calls == [(4, 12), (4, 12)]  # one batched call each
    with torch.no_grad():
        row_by_row_on_cpu(fn, ids, attn, right=True)
    assert calls[2:] == [(1, 8), (1, 7), (1, 8), (1, 12)]  # the rows' real tokens


def test_an_argument_it_cannot_slice_keeps_the_padded_batch(tiny_model, tiny_tokenizer):
    """A tensor argument the rows would have to share (some families' token_type_ids, cache_position) is passed to
    the padded batch unchanged rather than sliced wrongly."""
    ids, attn = padded_batch(len(tiny_tokenizer))
    unpadded_backbone(tiny_model)
    seen = []
    forward = type(body_of(tiny_model)).forward

    def spy(self, **kwargs):
        seen.append(kwargs["input_ids"].shape)
        return forward(self, **{k: v for k, v in kwargs.items() if k != "extra"})

    import unittest.mock

    with torch.no_grad(), unittest.mock.patch.object(type(body_of(tiny_model)), "forward", spy):
        body_of(tiny_model)(input_ids=ids, attention_mask=attn, extra=torch.zeros(4, 12))
        body_of(tiny_model)(input_ids=ids, attention_mask=attn)
    assert seen[0] == ids.shape and len(seen) == 1 + len(ids)  # padded once; then one call per row
