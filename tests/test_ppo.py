"""helpers.rl.ppo: GAE and the clipped losses by hand, a toy task PPO must learn, and a SIGKILLed run resumed exactly."""

from __future__ import annotations

import math
from pathlib import Path

import functools

import pytest
import torch

from helpers.lm import unpadded
from helpers.rl import ppo, rollout
from helpers.rl.ppo import (AdaptiveKL, FixedKL, PPOConfig, compute_advantages, kl_rewards, masked_whiten, policy_loss,
                            response_mask, value_loss)

from .conftest import kill_after_first_publish, start_worker
from .support import evaluate_policy

REPO = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "_ppo_worker.py"


# ---------------------------------------------------------------- GAE and the losses, computed by hand


def test_gae_by_hand_one_row():
    # γ = 0.9, λ = 0.5; two response tokens, then one padding token whose reward and value must be ignored.
    rewards = torch.tensor([[1.0, 2.0, 5.0]])
    values = torch.tensor([[0.5, 1.0, 7.0]])
    mask = torch.tensor([[True, True, False]])
    adv, ret = compute_advantages(rewards, values, mask, gamma=0.9, lam=0.5)
    # t = 1 (last): δ = 2 + 0.9·0 − 1 = 1,            A = 1
    # t = 0:        δ = 1 + 0.9·1.0 − 0.5 = 1.4,      A = 1.4 + 0.9·0.5·1 = 1.85
    assert torch.allclose(adv, torch.tensor([[1.85, 1.0, 0.0]]))
    assert torch.allclose(ret, adv + values)
    assert torch.allclose(ret[mask], torch.tensor([2.35, 2.0]))


def test_gae_by_hand_two_rows():
    rewards = torch.tensor([[0.0, 0.0, 1.0, 9.0], [0.5, -1.0, 9.0, 9.0]])
    values = torch.tensor([[0.2, 0.4, 0.6, 9.0], [1.0, 0.0, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]]).bool()
    # γ = λ = 1: A_t = (sum of rewards from t to the end) − V_t
    adv, ret = compute_advantages(rewards, values, mask, gamma=1.0, lam=1.0)
    assert torch.allclose(adv, torch.tensor([[0.8, 0.6, 0.4, 0.0], [-1.5, -1.0, 0.0, 0.0]]))
    assert torch.allclose(ret, adv + values)
    # γ = 0.5, λ = 0 (one-step TD): A_t = r_t + 0.5·V_{t+1} − V_t
    adv, _ = compute_advantages(rewards, values, mask, gamma=0.5, lam=0.0)
    assert torch.allclose(adv, torch.tensor([[0.0, -0.1, 0.4, 0.0], [-0.5, -1.0, 0.0, 0.0]]))


def test_whitening_is_over_the_response_tokens_only():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    w = masked_whiten(x, torch.tensor([[True, True, False]]))
    assert torch.allclose(w, torch.tensor([[-1.0, 1.0, 0.0]]), atol=1e-6)


def test_clipped_policy_loss_by_hand():
    ratio = torch.tensor([[1.5, 0.5, 1.1, 3.0]])
    old = torch.zeros(1, 4)
    adv = torch.tensor([[1.0, 1.0, -2.0, 50.0]])
    mask = torch.tensor([[True, True, True, False]])  # the last token is padding
    loss, clipfrac = policy_loss(ratio.log(), old, adv, mask, cliprange=0.2)
    # token 0: max(−1·1.5, −1·1.2) = −1.2 (clipped: no credit beyond 1 + ε for a good action)
    # token 1: max(−1·0.5, −1·0.8) = −0.5 (unclipped: the pessimistic term)
    # token 2: max(2·1.1, 2·1.1) = 2.2
    assert loss.item() == pytest.approx((-1.2 - 0.5 + 2.2) / 3)
    assert clipfrac.item() == pytest.approx(1 / 3)


def test_clipped_policy_loss_gradient_is_zero_when_clipped():
    logp = torch.tensor([[math.log(1.5), math.log(0.5)]], requires_grad=True)
    loss, _ = policy_loss(logp, torch.zeros(1, 2), torch.tensor([[1.0, -1.0]]), torch.ones(1, 2).bool(), 0.2)
    loss.backward()
    assert torch.equal(logp.grad, torch.zeros(1, 2))  # both ratios beyond the trust region in the advantage's direction


def test_clipped_value_loss_by_hand():
    old = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    new = torch.tensor([[0.5, 0.1, 0.5, 9.0]])
    returns = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True, False]])
    loss, clipfrac = value_loss(new, old, returns, mask, cliprange_value=0.2)
    # token 0: V_clip = 0.2: max((0.5−1)², (0.2−1)²) = 0.64 (clipped)
    # token 1: V_clip = 0.1: 0.81 either way
    # token 2: V_clip = 0.8: max((0.5−0)², (0.8−0)²) = 0.64 (clipped)
    assert loss.item() == pytest.approx(0.5 * (0.64 + 0.81 + 0.64) / 3)
    assert clipfrac.item() == pytest.approx(2 / 3)


def test_response_mask_and_kl_rewards():
    eos, pad = 2, 0
    responses = torch.tensor([[5, 6, eos, pad], [5, eos, pad, pad], [5, 6, 7, 8]])
    mask, has_eos = response_mask(responses, eos)
    assert mask.tolist() == [[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]
    assert has_eos.tolist() == [True, True, False]
    logp, ref = torch.full((3, 4), -1.0), torch.full((3, 4), -1.5)
    rewards, kl = kl_rewards(torch.tensor([1.0, 2.0, 3.0]), logp, ref, mask, kl_coef=0.1)
    assert torch.allclose(kl, 0.5 * mask)  # the KL of tokens after EOS does not count
    assert torch.allclose(rewards, torch.tensor([[-0.05, -0.05, 0.95, 0.0], [-0.05, 1.95, 0.0, 0.0],
                                                 [-0.05, -0.05, -0.05, 2.95]]))


def test_kl_controllers():
    fixed = FixedKL(0.1)
    fixed.update(100.0, 8)
    assert fixed.value == 0.1
    adaptive = AdaptiveKL(0.1, target=6.0, horizon=1000)
    adaptive.update(12.0, 8)  # KL twice the target: error clipped to +0.2
    assert adaptive.value == pytest.approx(0.1 * (1 + 0.2 * 8 / 1000))
    adaptive.update(5.7, 100)  # 5 % under the target
    assert adaptive.value == pytest.approx(0.1 * (1 + 0.2 * 8 / 1000) * (1 - 0.05 * 100 / 1000))


# ---------------------------------------------------------------- a toy task: PPO must learn it


@functools.lru_cache(maxsize=1)
def toy_tokenizer():
    from helpers.lm.tokenizer import byte_level_bpe, to_transformers
    from tests.conftest import SAMPLE

    return to_transformers(byte_level_bpe(SAMPLE, vocab_size=400))


def build_toy(steps: int, save_steps: int = 0, output_dir=None, publish_dir=None, dtype=None, rank: int | None = None,
              **overrides) -> ppo.PPOTrainer:
    """Tiny random-init policy (LoRA, lm_head included) and value model; two-token responses; reward = share of
    response tokens whose id is a multiple of 10 (a tenth of the vocabulary: ~0.1 for the random policy). `dtype`:
    the frozen weights in that dtype, the trained ones in float32 (as helpers.lm.models loads them on a GPU)."""
    from peft import get_peft_model

    from helpers.lm.models import build_tiny_causal_lm, fp32_trainable, lora_config
    from helpers.env.profiles import get_profile
    from helpers.lm.rewards import build_tiny_reward_model
    from tests.conftest import SAMPLE

    profile = get_profile("tiny")
    tok = toy_tokenizer()
    lora = lora_config(profile)
    lora.target_modules = set(lora.target_modules) | {"lm_head"}  # a random-init model: let LoRA reach the logits
    lora.r = rank or lora.r
    base, reward_model = build_tiny_causal_lm(profile, tok, seed=0), build_tiny_reward_model(profile, tok, seed=1)
    if dtype is not None:
        base, reward_model = base.to(dtype), reward_model.to(dtype)
    policy = get_peft_model(base, lora)
    fp32_trainable(policy)
    value = ppo.make_value_model(reward_model, lora_config(profile, task_type="SEQ_CLS", modules_to_save=["score"]))
    prompts = ppo.encode_prompts(tok, [[{"role": "user", "content": s}] for s in SAMPLE[:6]], 64)
    kw = dict(max_steps=steps, batch_size=8, mini_batch_size=4, ppo_epochs=2, learning_rate=2e-2, max_new_tokens=2,
              kl_coef=0.05, missing_eos_penalty=0.0, save_steps=save_steps, seed=0)
    kw.update(overrides)
    trainer = ppo.PPOTrainer(policy, value, tok, prompts, PPOConfig(**kw), reward_fn=toy_reward,
                             output_dir=output_dir, publish_dir=publish_dir)
    trainer.eval_prompts = prompts * 8
    return trainer


def toy_reward(prompt_ids: list[int], response_ids: list[int]) -> float:
    return sum(t % 10 == 0 for t in response_ids) / len(response_ids)


@pytest.fixture()
def one_thread():
    """Tiny models run fastest on one thread (and far faster than on two busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def with_eos_in_even_rows(trainer) -> None:
    """Make the policy's sampled responses end early in every other row: row i gets an EOS at position i // 2
    (the random-init model itself emits one only about once in 400 tokens)."""
    real = trainer.policy.generate

    def generate(**kwargs):
        out = real(**kwargs)
        start = kwargs["input_ids"].shape[1]
        for i in range(0, out.shape[0], 2):
            if start + i // 2 < out.shape[1]:
                out[i, start + i // 2] = trainer.tok.eos_token_id
        return out

    trainer.policy.generate = generate


@pytest.mark.slow
def test_ppo_learns_a_programmatic_reward_with_bounded_kl(one_thread):
    trainer = build_toy(steps=20)
    evaluate = lambda: evaluate_policy(trainer.policy, trainer.tok, trainer.eval_prompts, 2, reward_fn=toy_reward)
    before = evaluate()
    assert before["kl"] == 0.0 and before["reward"] < 0.2  # the reference is the policy before training
    history = trainer.train()
    after = evaluate()
    print(f"toy reward {before['reward']:.3f} -> {after['reward']:.3f}, KL {after['kl']:.2f} nats per response")
    assert after["reward"] > before["reward"] + 0.5, (before, after)
    # Bounded KL: a policy that beats the reference on the objective E[r] − β·KL has KL < (1 − E_ref[r]) / β.
    assert 0.0 < after["kl"] < (1 - before["reward"]) / trainer.config.kl_coef, after
    assert [h["step"] for h in history] == list(range(1, 21))
    assert history[0]["kl"] == 0.0  # the first rollout's policy is the reference
    keys = {"reward", "kl", "entropy", "clipfrac", "value_loss", "approx_kl", "kl_coef", "policy_loss"}
    assert keys <= set(history[-1])
    assert history[-1]["entropy"] < history[0]["entropy"]


def test_rollout_masks_tokens_after_eos_and_penalises_missing_eos(one_thread):
    trainer = build_toy(steps=1, max_new_tokens=12, missing_eos_penalty=2.0)
    with_eos_in_even_rows(trainer)
    batch = trainer.rollout(0)
    eos, pad = trainer.tok.eos_token_id, trainer.tok.pad_token_id
    assert batch["has_eos"][::2].all() and not batch["has_eos"][1::2].all()
    assert all(n <= i // 2 + 1 for i, n in enumerate(batch["mask"].sum(1).tolist()) if i % 2 == 0)
    assert torch.all(batch["responses"][~batch["mask"]] == pad)
    for row, mask, has in zip(batch["responses"], batch["mask"], batch["has_eos"]):
        assert (row[mask][-1] == eos) == bool(has) and (row[mask][:-1] != eos).all()
    expected = torch.tensor([toy_reward([], r[m].tolist()) for r, m in zip(batch["responses"], batch["mask"])])
    assert torch.allclose(batch["scores"], expected - 2.0 * (~batch["has_eos"]).float())
    assert torch.all(batch["advantages"][~batch["mask"]] == 0) and torch.all(batch["kl"][~batch["mask"]] == 0)


def test_reward_model_path_scores_the_last_response_token(one_thread):
    """Without a reward function the reward is the value model with its adapter off (the reward model), read at the
    last token of prompt + response + the chat template's end of turn."""
    from helpers.env.profiles import get_profile
    from helpers.lm.rewards import build_tiny_reward_model

    trainer = build_toy(steps=1, max_new_tokens=12)
    with_eos_in_even_rows(trainer)
    trainer.reward_fn, trainer.reward_suffix = None, ppo.turn_suffix(trainer.tok)
    assert trainer.tok.decode(trainer.reward_suffix) == "\n"  # ChatML: <|im_end|> then a newline
    batch = trainer.rollout(0)
    assert batch["has_eos"][::2].all() and not batch["has_eos"][1::2].all()
    ids, attn = trainer.scored_sequences(batch)
    for row, a, has in zip(ids, attn, batch["has_eos"]):
        assert (row[a.bool()][-1].item() == trainer.reward_suffix[-1]) == bool(has)
    reward_model = build_tiny_reward_model(get_profile("tiny"), trainer.tok, seed=1)  # the same weights, no adapter
    reward_model.config.pad_token_id = trainer.tok.pad_token_id
    # transformers' own pooling (the last non-pad token) on the same rows, right-padded
    right = torch.stack([torch.cat([i[a.bool()], i[~a.bool()].fill_(trainer.tok.pad_token_id)])
                         for i, a in zip(ids, attn)])
    with torch.no_grad():
        expected = reward_model(input_ids=right, attention_mask=attn.sort(dim=1, descending=True).values).logits[:, 0]
    penalty = trainer.config.missing_eos_penalty * (~batch["has_eos"]).float()
    assert torch.allclose(batch["scores"] + penalty, expected, atol=1e-5)
    ids, attn = trainer.sequences(batch)
    with torch.no_grad():  # the value model starts as the reward model (its LoRA B matrices are zero)
        values = ppo.token_scores(trainer.value_model, ids, attn)
        with trainer.value_model.disable_adapter():
            assert torch.allclose(values, ppo.token_scores(trainer.value_model, ids, attn))


def test_row_by_row_scoring_without_left_padding_equals_the_padded_batch(one_thread):
    """heldout_measure scores and takes log-probabilities row by row on a CPU, each row without its left padding:
    the same numbers as the padded batch, up to float rounding."""
    trainer = build_toy(steps=1, max_new_tokens=12)
    with_eos_in_even_rows(trainer)
    batch = trainer.rollout(0)
    ids, attn = trainer.sequences(batch)
    assert (attn[:, 0] == 0).any()  # some rows really are left-padded
    n = batch["responses"].shape[1]
    with torch.no_grad():
        for fn in (lambda i, a: rollout.response_logits(trainer.policy, i, a, n),
                   lambda i, a: rollout.sequence_scores(trainer.value_model, i, a)):
            assert torch.allclose(unpadded.row_by_row_on_cpu(fn, ids, attn), fn(ids, attn), atol=1e-5)

    assert torch.allclose(unpadded.row_by_row_on_cpu(fn, ids, attn, right=True), fn(ids, attn), atol=1e-5)


def test_ppo_passes_over_real_tokens_only_equal_the_padded_batch(one_thread):
    """On a CPU PPOTrainer takes log-probabilities, values and their gradients row by row over each row's real tokens
    (window_rows): equal to the padded batch (as on a GPU) on every response token, and 0 after a row's EOS."""
    trainer = build_toy(steps=1, max_new_tokens=12)
    with_eos_in_even_rows(trainer)
    batch = trainer.rollout(0)
    ids, attn = trainer.sequences(batch)
    assert (attn[:, 0] == 0).any() and (attn[:, -1] == 0).any()  # padded on both sides
    mask, q, n = batch["mask"], batch["query"].shape[1], batch["responses"].shape[1]
    padded = {"logits": rollout.response_logits(trainer.policy, ids, attn, n) / trainer.config.temperature,
              "values": ppo.token_scores(trainer.value_model, ids, attn)[:, q - 1:-1]}
    rows = {"logits": trainer.response_logits(trainer.policy, batch), "values": trainer.response_values(batch)}
    for k in padded:
        assert rows[k].shape == padded[k].shape
        assert torch.allclose(rows[k][mask], padded[k][mask], atol=1e-5), k
        assert (rows[k][~mask] == 0).all(), k
    weights = [p for p in trainer.policy.parameters() if p.requires_grad]
    grads = []
    for logits in (padded["logits"], rows["logits"]):
        loss = ppo.masked_mean(ppo.logprobs_of(logits, batch["responses"]), mask)
        grads.append(torch.autograd.grad(loss, weights, retain_graph=True))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-5)


# ---------------------------------------------------------------- half precision, and losses that are not finite


def trainable(trainer) -> dict[str, torch.Tensor]:
    """A copy of the trained weights of policy and value model."""
    models = (("policy", trainer.policy), ("value", trainer.value_model))
    return {f"{name}.{k}": p.detach().clone() for name, m in models for k, p in m.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_ppo_step_is_finite_and_float32_where_it_matters(one_thread, dtype):
    """Frozen weights in float16 / bfloat16, LoRA and the value head copy in float32 (a T4 / an A100): forward passes
    under autocast, log-probs, values, advantages and losses in float32, a gradient scaler for float16 only."""
    trainer = build_toy(steps=2, dtype=dtype, max_new_tokens=6)
    trainer.reward_fn = None  # the reward model (value model with its adapter off) in half precision too
    params = dict(trainer.policy.named_parameters()) | dict(trainer.value_model.named_parameters())
    assert all(p.dtype == torch.float32 for p in params.values() if p.requires_grad)
    assert any(p.dtype == dtype for p in params.values() if not p.requires_grad)
    assert trainer.scaler.is_enabled() == (dtype == torch.float16)
    before = trainable(trainer)
    batch = trainer.rollout(0)
    for key in ("logprobs", "ref_logprobs", "values", "scores", "rewards", "advantages", "returns"):
        assert batch[key].dtype == torch.float32 and torch.isfinite(batch[key]).all(), key
    logs = trainer.train(resume=False)
    for log in logs:
        assert all(math.isfinite(log[k]) for k in ("policy_loss", "value_loss", "reward", "kl", "entropy")), log
    after = trainable(trainer)
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it trained
    assert all(torch.isfinite(v).all() and v.dtype == torch.float32 for v in after.values())


def test_fp16_small_gradients_do_not_underflow(one_thread):
    """Gradients below float16's smallest number (6e-8) vanish in a float16 backward pass unless the loss is scaled
    up first: with tiny advantages every LoRA matrix of the policy must still move."""
    trainer = build_toy(steps=1, dtype=torch.float16, vf_coef=0.0, ppo_epochs=1)
    batch = trainer.rollout(0)
    batch["advantages"] = batch["advantages"] * 1e-6
    before = trainable(trainer)
    trainer.update(batch, 0)
    after = trainable(trainer)
    lora_b = [k for k in before if k.startswith("policy.") and "lora_B" in k]
    assert len(lora_b) > 10 and [k for k in lora_b if torch.equal(before[k], after[k])] == []


def test_nan_reward_stops_before_the_optimizer_steps(one_thread):
    trainer = build_toy(steps=1)
    trainer.reward_fn = lambda prompt, response: float("nan")
    before = trainable(trainer)
    with pytest.raises(FloatingPointError, match=r"PPO step 1: policy loss = nan, value loss = nan .*did not step"
                                                 r".*lower learning_rate.*bfloat16.*max_new_tokens") as error:
        trainer.train(resume=False)
    assert isinstance(error.value, ppo.NonFiniteLossError)
    after = trainable(trainer)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not trainer.optimizer.state and trainer.global_step == 0


@pytest.mark.parametrize("dtype", [None, torch.float16])
def test_inf_value_loss_is_named_and_nothing_moves(one_thread, dtype):
    trainer = build_toy(steps=1, dtype=dtype)
    batch = trainer.rollout(0)
    before = trainable(trainer)
    hook = rollout._inner(trainer.value_model).score.register_forward_hook(lambda m, args, out: out + float("inf"))
    try:
        with pytest.raises(ppo.NonFiniteLossError, match=r"PPO step 1: value loss = inf \(") as error:
            trainer.update(batch, 0)
    finally:
        hook.remove()
    assert "policy loss" not in str(error.value)
    assert all(torch.equal(before[k], v) for k, v in trainable(trainer).items())
    assert not trainer.optimizer.state


def test_fp16_checkpoint_restores_the_gradient_scaler(one_thread, tmp_path):
    """The scaler's state (scale, growth tracker) travels with the checkpoint, so a resumed float16 run repeats the
    unbroken one."""
    full = build_toy(steps=2, save_steps=1, output_dir=tmp_path / "full", dtype=torch.float16)
    full.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=1)  # its state moves every update
    full.train(resume=False)
    saved = torch.load(tmp_path / "full" / "checkpoint-1" / "scaler.pt")
    assert saved["scale"] != 2.0 ** 10 and saved["growth_interval"] == 1

    resumed = build_toy(steps=2, output_dir=tmp_path / "resumed", dtype=torch.float16)
    resumed.load_checkpoint(tmp_path / "full" / "checkpoint-1")
    assert resumed.scaler.state_dict() == saved
    resumed.train(resume=False)
    assert resumed.scaler.state_dict() == full.scaler.state_dict()
    expected, got = trainable(full), trainable(resumed)
    assert [k for k in expected if not torch.equal(expected[k], got[k])] == []


def test_checkpoint_of_another_lora_rank_is_set_aside(one_thread, tmp_path, capsys):
    drive = tmp_path / "drive"
    build_toy(steps=1, save_steps=1, output_dir=tmp_path / "a", publish_dir=drive).train(resume=False)
    assert (drive / "checkpoint-1").is_dir()
    capsys.readouterr()
    other = build_toy(steps=1, output_dir=tmp_path / "b", publish_dir=drive, rank=4)
    assert other.resume() is None and other.global_step == 0
    out = capsys.readouterr().out
    assert "Not resuming from" in out and "other shapes" in out and "PPO starts from step 0" in out, out
    assert (tmp_path / "drive.stale-1" / "checkpoint-1" / "MANIFEST.json").is_file() and not drive.exists()
    same = build_toy(steps=1, output_dir=tmp_path / "c", publish_dir=tmp_path / "drive.stale-1")
    assert same.resume() is not None and same.global_step == 1, "a matching checkpoint still resumes"


# ---------------------------------------------------------------- SIGKILL a PPO run, resume it



@pytest.mark.slow
def test_killed_ppo_run_resumes_to_identical_weights(tmp_path):
    from safetensors.torch import load_file

    from helpers.lm.checkpoints import latest_complete, step_of

    drive = tmp_path / "drive"
    full, full_log = start_worker(WORKER, tmp_path, "full", "--dest", str(tmp_path / "full-published"))  # the unbroken run
    killed, killed_log = start_worker(WORKER, tmp_path, "killed", "--dest", str(drive), "--slow-after", "2")
    killed_at = kill_after_first_publish(killed, killed_log, drive)
    assert step_of(killed_at) in (2, 4), killed_log.read_text()
    assert sorted(p.name for p in killed_at.iterdir()) == ["MANIFEST.json", "optimizer.pt", "policy", "rng_state.pt",
                                                           "scaler.pt", "trainer_state.json", "value"]

    # A new VM: an empty local disk, only the Drive folder survives.
    resumed, resumed_log = start_worker(WORKER, tmp_path, "resumed", "--dest", str(drive), "--resume")
    assert resumed.wait(timeout=120) == 0, resumed_log.read_text()
    assert full.wait(timeout=120) == 0, full_log.read_text()
    text = resumed_log.read_text()
    assert f"AT_STEP {step_of(killed_at)}" in text and "FINAL_STEP 6" in text, text
    assert "LOGGED_STEPS [1, 2, 3, 4, 5, 6]" in text, text  # the log before the kill came back with the checkpoint
    assert latest_complete(drive) == drive / "checkpoint-6"

    expected, got = load_file(tmp_path / "full.safetensors"), load_file(tmp_path / "resumed.safetensors")
    assert expected.keys() == got.keys() and any(k.startswith("value.") for k in got)
    different = [k for k in expected if not torch.equal(expected[k], got[k])]
    assert not different, f"resumed weights differ from the uninterrupted run in {different}"


def test_reward_hacking_demo_reuses_the_measured_start(tmp_path, tiny_profile):
    """05's section 6 starts from the stage's own held-out measurement (same model, prompts and seed) instead of
    sampling it again; its reward is re-scored with the demo's penalty. Equal to measuring afresh."""
    import math

    from helpers.stages.ppo import PPOStage

    stage = PPOStage(root=tmp_path, profile=tiny_profile, max_steps=1)
    stage.load()
    stage.build_models()
    stage.answers_before()
    reused = stage.reward_hacking_demo(missing_eos_penalty=0.5, steps=1)["before"]
    stage.eval_before = None
    fresh = stage.reward_hacking_demo(missing_eos_penalty=0.5, steps=1)["before"]
    for key in ("reward", "raw_score", "eos_fraction", "response_length"):
        assert math.isclose(reused[key], fresh[key], rel_tol=1e-5, abs_tol=1e-6), key


def test_grpo_trains_on_exactly_ppos_reward(tmp_path, tiny_profile):
    """05's comparison is like for like: GRPO's reward function is PPO's (the reward model on prompt + answer ids, the
    same cut-off penalty and prompt length), and a cut-off answer loses exactly the penalty."""
    from helpers.stages.ppo import PenalizedReward, PPOStage

    stage = PPOStage(root=tmp_path, profile=tiny_profile, max_steps=1, eval_limit=2, missing_eos_penalty=2.5)
    stage.load()
    stage.grpo()
    reward = stage.grpo_trainer.reward_funcs[0]
    assert isinstance(reward, PenalizedReward)
    assert (reward.penalty, reward.max_prompt_length) == (2.5, stage.settings.max_prompt_length)
    prompt, answer = stage.train_conversations[:1], [stage.tok.encode("Rest.", add_special_tokens=False)]
    ended = [answer[0] + [stage.tok.eos_token_id]]
    cut, done = reward(prompt, None, answer)[0], reward(prompt, None, ended)[0]
    scored = PenalizedReward(stage.grpo_reward_model, stage.tok, 0.0, reward.max_prompt_length)(prompt, None, answer)[0]
    assert abs(cut - (scored - 2.5)) < 1e-5 and done != cut
