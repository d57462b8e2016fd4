"""A held-out reward change taken apart (helpers.lm.rewards.reward_parts / reward_gain_sentence): the split is exact, and
the sentence calls a gain made only of answers that end a hack."""

import math

from helpers.lm.rewards import measure_table, reward_gain_sentence, reward_parts

PENALTY = 3.0


def measured(raw: float, eos: float, length: float = 20.0, kl: float = 0.0, n: int = 10) -> dict:
    """A heldout_measure-shaped result over `n` answers, each scored `raw`, the first eos × n of them ended:
    reward = RM score − penalty × share cut off."""
    ended = [i < round(eos * n) for i in range(n)]
    return dict(reward=raw - PENALTY * (1 - eos), raw_score=raw, eos_fraction=eos, response_length=length, kl=kl,
                raw_scores=[raw] * n, scores=[raw - PENALTY * (not e) for e in ended], ended=ended)


def test_split_is_exact():
    before, after = measured(0.049, 0.188, 28), measured(-0.402, 0.562, 16, kl=6.4)
    parts = reward_parts(before, after, PENALTY)
    assert math.isclose(parts["reward"], parts["rm_score"] + parts["cutoff"], abs_tol=1e-12)
    assert math.isclose(parts["cutoff"], PENALTY * (0.562 - 0.188))


def test_sentence_names_a_hack_and_a_real_gain():
    start = measured(0.05, 0.2)
    assert "reward hack via answers that end" in reward_gain_sentence(start, measured(-0.4, 0.6), PENALTY, "PPO")
    assert "fell" in reward_gain_sentence(start, measured(-0.4, 0.6), PENALTY, "PPO")
    real = reward_gain_sentence(start, measured(1.0, 0.2), PENALTY, "PPO")
    assert "hack" not in real and "100% of the gain" in real
    assert "did not rise" in reward_gain_sentence(start, measured(0.0, 0.2), PENALTY, "DPO")
    drift = reward_gain_sentence(start, measured(0.5, 0.0), PENALTY, "DPO")  # score up, fewer answers end
    assert "did not rise" in drift and "unfinished answers" in drift


def test_measure_table_has_units():
    table = measure_table({"sft": measured(0.0, 0.5), "ppo": measured(0.1, 0.6, kl=2.0)})
    assert list(table.index) == ["sft", "ppo"]
    assert "KL to 03's model (nats per answer)" in table.columns
    assert table.loc["ppo", "KL to 03's model (nats per answer)"] == 2.0


def test_like_for_like_tells_ended_answers_liked_better_from_more_answers_ending():
    from helpers.lm.rewards import ended_alike

    start = measured(0.0, 0.5)
    more_end = measured(0.0, 0.9)  # every answer scored as before; only more of them end
    more_end["raw_scores"] = [0.0] * 5 + [0.8] * 4 + [0.0]  # the newly ended ones score well: the mean rises
    more_end["raw_score"] = sum(more_end["raw_scores"]) / 10
    assert ended_alike(start, more_end) == dict(n=5, before=0.0, after=0.0)
    assert "what rose is how many answers end" in reward_gain_sentence(start, more_end, PENALTY, "PPO")
    better = measured(0.4, 0.5)
    assert ended_alike(start, better)["after"] == 0.4
    assert "the ended answers themselves score higher" in reward_gain_sentence(start, better, PENALTY, "PPO")
    old_record = {k: v for k, v in better.items() if k != "ended"}  # remembered before "ended" was kept
    assert ended_alike(start, old_record) == ended_alike(start, better)
