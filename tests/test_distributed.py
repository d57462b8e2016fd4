"""Beyond one GPU: our PPO and the stages under torchrun (2 CPU processes, gloo), and the accelerate configs we ship.

Each distributed test starts `torchrun --standalone --nproc_per_node 2` as a subprocess; every process logs to a file
of its own (tests/_ddp_*_worker.py say what they print). `accelerate launch --cpu --num_processes 2` would start a
single process on a CPU, so the launcher of these tests is torchrun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
CONFIGS = REPO / "configs" / "accelerate"


# ---------------------------------------------------------------- the configs accelerate launch reads

EXPECTED = {  # file: (distributed_type, processes, DeepSpeed fields, FSDP fields)
    "single_gpu.yaml": ("NO", 1, {}, {}),
    "multi_gpu.yaml": ("MULTI_GPU", 2, {}, {}),
    "deepspeed_zero2.yaml": ("DEEPSPEED", 2, dict(zero_stage=2, offload_optimizer_device="none",
                                                  offload_param_device="none", zero3_init_flag=False), {}),
    "deepspeed_zero3_offload.yaml": ("DEEPSPEED", 2, dict(zero_stage=3, offload_optimizer_device="cpu",
                                                          offload_param_device="cpu", zero3_init_flag=True,
                                                          zero3_save_16bit_model=True), {}),
    "fsdp.yaml": ("FSDP", 2, {}, dict(fsdp_version=2, fsdp_reshard_after_forward=True, fsdp_offload_params=False,
                                      fsdp_auto_wrap_policy="TRANSFORMER_BASED_WRAP",
                                      fsdp_transformer_layer_cls_to_wrap="Qwen2DecoderLayer",
                                      fsdp_state_dict_type="FULL_STATE_DICT")),
}


def test_shipped_accelerate_configs_load_with_their_key_fields():
    from accelerate.commands.config.config_args import load_config_from_file

    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)
    for name, (kind, processes, deepspeed, fsdp) in EXPECTED.items():
        config = load_config_from_file(str(CONFIGS / name))
        assert (config.distributed_type, config.num_processes) == (kind, processes), name
        assert (config.mixed_precision, config.use_cpu, config.num_machines) == ("bf16", False, 1), name
        assert config.deepspeed_config == deepspeed, name
        assert {k: config.fsdp_config[k] for k in fsdp} == fsdp, name


@pytest.mark.parametrize("name", ["deepspeed_zero2.yaml", "deepspeed_zero3_offload.yaml", "fsdp.yaml"])
def test_accelerate_launch_turns_the_config_into_its_plugin(name, monkeypatch):
    """What `accelerate launch --config_file NAME -m helpers.stages sft` hands its processes (environment variables),
    read back by the plugin the Trainer's Accelerator builds from them. deepspeed itself is not needed for this."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    args = launch_command_parser().parse_args(["--config_file", str(CONFIGS / name), "-m", "helpers.stages", "sft"])
    args, defaults, _ = _validate_launch_command(args)
    assert args.num_processes == 2 and args.mixed_precision == "bf16"
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = ",".join([*defaults.deepspeed_config, "mixed_precision"])
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        assert args.use_fsdp
        env = prepare_multi_gpu_env(args)
    for key in list(os.environ):
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"
    if args.use_deepspeed:
        zero = DeepSpeedPlugin().deepspeed_config["zero_optimization"]
        offload = "cpu" if "zero3" in name else "none"
        assert zero["stage"] == (3 if "zero3" in name else 2)
        assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == offload
        # batch size, accumulation and clipping are the Trainer's ("auto"): --batch-size and the profile decide
        assert {DeepSpeedPlugin().deepspeed_config[k] for k in ("train_micro_batch_size_per_gpu",
                                                                "gradient_accumulation_steps")} == {"auto"}
    else:
        from torch.distributed.fsdp import StateDictType

        plugin = FullyShardedDataParallelPlugin()
        assert (plugin.fsdp_version, plugin.reshard_after_forward) == (2, True)
        assert plugin.transformer_cls_names_to_wrap == ["Qwen2DecoderLayer"]
        assert plugin.state_dict_type == StateDictType.FULL_STATE_DICT
        assert type(plugin.cpu_offload).__name__ == "OffloadPolicy"  # the base class: no offload


# ---------------------------------------------------------------- running torchrun


def torchrun(tmp_path: Path, name: str, *args: str, processes: int = 2) -> tuple[subprocess.Popen, Path]:
    """Start `torchrun --standalone --nproc_per_node N ARGS` logging to <tmp_path>/<name>.torchrun.log."""
    log = tmp_path / f"{name}.torchrun.log"
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", WORKBOOK_PROFILE="tiny")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes), *args]
    with open(log, "w") as f:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT), log


def kill_all(proc: subprocess.Popen) -> None:
    """SIGKILL torchrun and every process it started (each worker runs in a session of its own: killing torchrun
    alone would leave them training)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    proc.send_signal(signal.SIGKILL)
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=30)
    proc.wait(timeout=30)


def rank_logs(prefix: Path, processes: int = 2) -> list[str]:
    return [Path(f"{prefix}.rank{r}.log").read_text() for r in range(processes)]


def finish(proc: subprocess.Popen, log: Path, prefix: Path, processes: int = 2, timeout: float = 240) -> list[str]:
    """Wait for a torchrun run to succeed; every rank's log."""
    try:
        code = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            kill_all(proc)
    logs = [Path(f"{prefix}.rank{r}.log") for r in range(processes)]
    text = "\n".join(f"---- {p.name}\n{p.read_text()}" for p in logs if p.exists())
    assert code == 0, f"{log.read_text()}\n{text}"
    return rank_logs(prefix, processes)


def lines(text: str, tag: str) -> list[str]:
    return [line[len(tag) + 1:] for line in text.splitlines() if line.startswith(tag + " ") or line == tag]


def step_logs(text: str) -> list[dict]:
    return [json.loads(line) for line in lines(text, "LOG")]


def weights(prefix: Path, processes: int = 2) -> list[dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    return [load_file(f"{prefix}.rank{r}.safetensors") for r in range(processes)]


def assert_equal_weights(a: dict, b: dict, what: str) -> None:
    assert a.keys() == b.keys() and a, what
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{what}: weights differ in {different}"


# ---------------------------------------------------------------- the collectives PPO uses


@pytest.mark.slow
def test_global_batch_statistics_over_two_processes(tmp_path):
    """Two processes, each with half the rows: whitening over the global batch equals whitening the whole batch in one
    process (sums and counts all-reduced), gradients are averaged (a missing one counts as zeros), rank 0's
    parameters and objects reach every rank."""
    from helpers.rl.ppo import masked_mean, masked_whiten
    from tests._ddp_ops_worker import fixed_batch

    prefix = tmp_path / "ops"
    proc, log = torchrun(tmp_path, "ops", str(TESTS / "_ddp_ops_worker.py"), str(prefix))
    finish(proc, log, prefix, timeout=120)
    got = [torch.load(f"{prefix}.rank{r}.pt", weights_only=False) for r in range(2)]
    x, mask = fixed_batch()
    whole = masked_whiten(x, mask)
    assert torch.allclose(torch.cat([g["whitened"] for g in got]), whole, atol=1e-6)
    assert not torch.allclose(torch.cat([g["local_whitened"] for g in got]), whole, atol=1e-3)  # halves alone differ
    assert all(torch.allclose(g["mean"], masked_mean(x, mask)) for g in got)
    for g in got:
        assert torch.equal(g["grads"][0], torch.full((3,), 1.5)) and torch.equal(g["grads"][1], torch.full((2, 2), 2.0))
        assert torch.equal(g["broadcast"], torch.full((2,), 10.0))
        assert g["object"] == {"from": 0} and g["gathered"] == [0, 100]


# ---------------------------------------------------------------- PPO in a process group of two

PPO_WORKER = str(TESTS / "_ddp_ppo_worker.py")
STEPS, SAVE_STEPS = 6, 2  # the worker's defaults; per process: 4 prompts, minibatches of 2, 2 epochs


@pytest.fixture(scope="module")
def ppo_two_processes(tmp_path_factory):
    """One unbroken 2-process toy PPO run (tests/_ddp_ppo_worker.py): its folder, rank logs and weights."""
    tmp = tmp_path_factory.mktemp("ppo2")
    prefix = tmp / "full"
    started = time.monotonic()
    proc, log = torchrun(tmp, "full", PPO_WORKER, "--out", str(tmp / "out"), "--dest", str(tmp / "published"),
                         "--final", str(prefix))
    logs = finish(proc, log, prefix)
    print(f"2-process PPO run: {time.monotonic() - started:.1f} s")
    return dict(dir=tmp, logs=logs, weights=weights(prefix))


@pytest.mark.slow
def test_ppo_under_torchrun_shares_prompts_and_gradients_and_publishes_once(ppo_two_processes):
    """Every optimizer step in a process group of two; each rank its own prompts, the same global statistics and, after
    training, the same weights; rank 0 alone publishes each checkpoint, once, with both ranks' RNG states."""
    from helpers.lm.checkpoints import latest_complete

    logs, tmp = ppo_two_processes["logs"], ppo_two_processes["dir"]
    for text in logs:  # every optimizer step inside a process group of two: 6 steps × 2 minibatches × 2 epochs
        assert lines(text, "OPTIMIZER_STEP") == ["initialized=True world=2"] * (STEPS * 2 * 2), text
    rank0, rank1 = (step_logs(t) for t in logs)
    assert [h["step"] for h in rank0] == [h["step"] for h in rank1] == list(range(1, STEPS + 1))
    for a, b in zip(rank0, rank1):
        assert len(a["indices"]) == len(b["indices"]) == 4 and a["indices"] != b["indices"]  # each its own prompts
        same = {k for k in a if k not in ("indices", "rank", "step_seconds")}
        assert {k: a[k] for k in same} == {k: b[k] for k in same}  # global statistics: the same on both ranks
    assert rank0[0]["kl"] == 0.0  # the first rollout's policy is the reference, on every process
    first, second = ppo_two_processes["weights"]
    assert_equal_weights(first, second, "rank 0 vs rank 1")
    assert any(k.startswith("value.") for k in first)
    assert any(v.abs().sum() > 0 for k, v in first.items() if "lora_B" in k)  # it trained

    published = [f"checkpoint-{s}" for s in range(SAVE_STEPS, STEPS + 1, SAVE_STEPS)]
    assert [line.split()[1] for line in lines(logs[0], "PUBLISH")] == published  # once each, by rank 0 ...
    assert lines(logs[1], "PUBLISH") == [] and "Published" not in logs[1]  # ... and never by rank 1
    assert logs[0].count("Published ") == len(published)
    assert sorted(p.name for p in (tmp / "published").iterdir()) == published[-2:]  # no .tmp-/.old- leftovers
    assert sorted(p.name for p in (tmp / "out").iterdir()) == published[-2:]
    latest = latest_complete(tmp / "published")
    assert {"rng_state.pt", "rng_state_1.pt"} <= {p.name for p in latest.iterdir()}  # each process's RNG state
    assert json.loads((latest / "trainer_state.json").read_text())["world_size"] == 2


@pytest.mark.slow
def test_killed_two_process_ppo_resumes_to_identical_weights(ppo_two_processes, tmp_path):
    """SIGKILL torchrun and both workers after the first published checkpoint; restart both from it: the weights on
    each rank equal those of the unbroken 2-process run (sampling seeded from (seed, step, rank); each rank's RNG
    state restored)."""
    from helpers.lm.checkpoints import latest_complete, step_of

    drive = tmp_path / "drive"
    killed, killed_log = torchrun(tmp_path, "killed", PPO_WORKER, "--out", str(tmp_path / "killed-out"), "--dest",
                                  str(drive), "--final", str(tmp_path / "killed"), "--slow-after", "2")
    try:
        deadline = time.monotonic() + 180
        while latest_complete(drive) is None:
            assert killed.poll() is None, f"training ended before it was killed:\n{killed_log.read_text()}"
            assert time.monotonic() < deadline, f"no checkpoint published:\n{killed_log.read_text()}"
            time.sleep(0.1)
    finally:
        kill_all(killed)
    killed_at = latest_complete(drive)
    assert step_of(killed_at) in (2, 4), killed_log.read_text()
    assert not any(Path(f"{tmp_path / 'killed'}.rank{r}.safetensors").exists() for r in range(2))

    prefix = tmp_path / "resumed"  # a new machine: an empty local disk, only the published folder survives
    resumed, resumed_log = torchrun(tmp_path, "resumed", PPO_WORKER, "--out", str(tmp_path / "resumed-out"),
                                    "--dest", str(drive), "--final", str(prefix), "--resume")
    logs = finish(resumed, resumed_log, prefix)
    for text in logs:
        assert f"AT_STEP {step_of(killed_at)}" in text and f"FINAL_STEP {STEPS}" in text, text
        assert f"LOGGED_STEPS {list(range(1, STEPS + 1))}" in text, text
    for r, got in enumerate(weights(prefix)):
        assert_equal_weights(ppo_two_processes["weights"][r], got, f"rank {r}: resumed vs unbroken")


@pytest.mark.slow
def test_two_processes_of_batch_b_match_one_process_of_batch_2b(tmp_path):
    """2 processes × batch_size 4 (minibatches of 2) against 1 process × batch_size 8 (minibatches of 4): the same
    global batch, the same global minibatch and number of optimizer steps.

    How they are compared. Sampling differs between the two (each process draws its own responses), so:
    - exactly, with greedy rollouts for one step (no sampling noise): every step's global batch is the same prompts
      in the same order (rank 0's then rank 1's), and the first rollout's global statistics (mean reward, KL = 0,
      response length, EOS fraction; entropy to float rounding) are those of the single process;
    - within noise, sampled, 20 steps of the toy task (tests/test_ppo.py): both learn it (held-out reward up by more
      than 0.5, KL within the bound β-regularisation implies) and end within 0.25 of each other. Their per-step
      rewards are not compared: the toy's training is chaotic (runs that differ only in sampling take different
      paths to the same end).
    """
    runs = {}
    for name, processes, batch, minibatch, extra in (("greedy1", 1, 8, 4, ["--greedy", "--steps", "1"]),
                                                     ("greedy2", 2, 4, 2, ["--greedy", "--steps", "1"]),
                                                     ("sampled1", 1, 8, 4, ["--steps", "20", "--evaluate"]),
                                                     ("sampled2", 2, 4, 2, ["--steps", "20", "--evaluate"])):
        runs[name] = (processes, *torchrun(tmp_path, name, PPO_WORKER, "--out", str(tmp_path / name), "--dest",
                                           str(tmp_path / f"{name}-published"), "--final", str(tmp_path / name),
                                           "--batch-size", str(batch), "--mini-batch-size", str(minibatch),
                                           "--save-steps", "0", *extra, processes=processes))
    logs = {name: finish(proc, log, tmp_path / name, processes) for name, (processes, proc, log) in runs.items()}
    assert "initialized=False world=1" in logs["sampled1"][0]  # one process: no process group, no collective call

    one, (rank0, rank1) = step_logs(logs["greedy1"][0])[0], [step_logs(t)[0] for t in logs["greedy2"]]
    assert rank0["indices"] + rank1["indices"] == one["indices"] and len(set(map(tuple, (rank0["indices"],
                                                                                         rank1["indices"])))) == 2
    for key in ("reward", "kl", "response_length", "eos_fraction", "kl_coef"):
        assert rank0[key] == one[key], key
    assert rank0["kl"] == 0.0 and rank0["entropy"] == pytest.approx(one["entropy"], rel=1e-5)

    single, double = step_logs(logs["sampled1"][0]), step_logs(logs["sampled2"][0])
    for a, b in zip(single, double):
        assert b["indices"] + step_logs(logs["sampled2"][1])[a["step"] - 1]["indices"] == a["indices"]
    evals = {name: {e["when"]: e for e in map(json.loads, lines(logs[name][0], "EVAL"))}
             for name in ("sampled1", "sampled2")}
    kl_coef = single[0]["kl_coef"]
    for name, e in evals.items():
        before, after = e["before"], e["after"]
        print(f"{name}: toy reward {before['reward']:.3f} -> {after['reward']:.3f}, KL {after['kl']:.2f}")
        assert e["after"]["reward"] > e["before"]["reward"] + 0.5, (name, e)
        assert 0 < e["after"]["kl"] < (1 - e["before"]["reward"]) / kl_coef, (name, e)
    assert abs(evals["sampled1"]["after"]["reward"] - evals["sampled2"]["after"]["reward"]) <= 0.25, evals
    assert evals["sampled1"]["before"] == evals["sampled2"]["before"]  # the same starting policy


# ---------------------------------------------------------------- a Trainer stage: SFT under torchrun


@pytest.mark.slow
def test_sft_stage_under_torchrun(tmp_path):
    """`python -m helpers.stages sft` in 2 processes (tests/_ddp_stage_worker.py adds probes): every optimizer step in
    a process group of two, different batches per rank, equal weights after training; rank 0 alone builds the
    tokenizer, publishes the checkpoint, saves the merged model and the metrics; both evaluate, with equal results."""
    from helpers.lm.checkpoints import latest_complete
    from helpers.env.runs import find_output, load_metrics

    run, prefix = tmp_path / "run", tmp_path / "sft"
    started = time.monotonic()
    proc, log = torchrun(tmp_path, "sft", str(TESTS / "_ddp_stage_worker.py"), str(prefix), "sft", "--run-dir",
                         str(run), "--max-steps", "2", "--batch-size", "2", "--max-length", "128")
    logs = finish(proc, log, prefix)
    print(f"2-process SFT stage: {time.monotonic() - started:.1f} s")
    for text in logs:
        assert lines(text, "OPTIMIZER_STEP") == ["initialized=True world=2"] * 2, text
    batches = [set(lines(text, "BATCH")) for text in logs]
    assert all(len(b) == 2 for b in batches) and not batches[0] & batches[1]  # each rank its own batches
    assert_equal_weights(*weights(prefix), "rank 0 vs rank 1")

    assert [len(lines(text, tag)) for tag in ("PUBLISH", "SAVE_MODEL") for text in logs] == [1, 0, 1, 0]
    assert "Published" in logs[0] and "Published" not in logs[1]
    assert ("building the course tokenizer" in logs[0], "building the course tokenizer" in logs[1]) == (True, False)
    assert sorted(p.name for p in (run / "sft" / "checkpoints").iterdir()) == ["checkpoint-2"]
    published = latest_complete(run / "sft" / "checkpoints")  # with every process's RNG state, written before
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= {p.name for p in published.iterdir()}
    assert find_output("sft", run) is not None and find_output("tokenizer", run) is not None
    metrics = [json.loads(lines(text, "METRICS")[0]) for text in logs]
    assert len(metrics[1]) > 2 and all(metrics[0][k] == v for k, v in metrics[1].items())  # both evaluated alike
    assert load_metrics("sft", run) == metrics[0] and "key_metric" not in metrics[1]  # the save step: rank 0 only
