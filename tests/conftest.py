"""Shared fixtures: a tiny byte-level tokenizer and tiny random-init model (milliseconds to build)."""

from __future__ import annotations

import pytest

from helpers.env.profiles import get_profile

SAMPLE = [
    "The patient reports a headache and mild fever for two days.",
    "Drink water, rest, and see a doctor if the fever lasts more than three days.",
    "患者自述头痛伴低热两天。",
    "建议多喝水、注意休息，如发热超过三天请及时就医。",
    "Hypertension is high blood pressure; check it regularly.",
    "高血压患者应低盐饮食，规律服药，定期监测血压。",
] * 20


@pytest.fixture(autouse=True)
def _environment_left_as_found():
    """A test that changes WORKBOOK_* variables without monkeypatch leaks them into every later test and into the
    kernels nbval starts afterwards (CI once printed a test's tmp folder as the notebooks' run directory)."""
    import os

    before = {k: v for k, v in os.environ.items() if k.startswith("WORKBOOK_")}
    yield
    after = {k: v for k, v in os.environ.items() if k.startswith("WORKBOOK_")}
    assert after == before, f"the test changed the environment: {before} -> {after}"


@pytest.fixture(scope="session")
def tiny_profile():
    return get_profile("tiny")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from helpers.lm.tokenizer import byte_level_bpe, to_transformers

    return to_transformers(byte_level_bpe(SAMPLE, vocab_size=400))


@pytest.fixture()
def tiny_model(tiny_profile, tiny_tokenizer):
    from helpers.lm.models import build_tiny_causal_lm

    return build_tiny_causal_lm(tiny_profile, tiny_tokenizer, seed=0)


def start_worker(script, tmp_path, name: str, *args: str):
    """Start `script` (a training worker under tests/) as a subprocess logging to <tmp_path>/<name>.log.

    The worker writes to <tmp_path>/<name>/out and its final weights to <tmp_path>/<name>.safetensors.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    log = tmp_path / f"{name}.log"
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, str(script), "--out", str(tmp_path / name / "out"), "--final",
           str(tmp_path / f"{name}.safetensors"), *args]
    with open(log, "w") as f:
        return subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent, env=env, stdout=f,
                                stderr=subprocess.STDOUT), log


def kill_after_first_publish(proc, log, dest, timeout: float = 180):
    """Wait until `dest` holds a complete published checkpoint, then SIGKILL `proc`; return that checkpoint."""
    import signal
    import time

    from helpers.lm.checkpoints import latest_complete

    try:
        deadline = time.monotonic() + timeout
        while latest_complete(dest) is None:
            assert proc.poll() is None, f"training ended before it was killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no checkpoint published:\n{log.read_text()}"
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    return latest_complete(dest)


def worker_args():
    """The command line every training worker takes (see start_worker)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--final", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--slow-after", type=int, default=None)
    return parser.parse_args()
