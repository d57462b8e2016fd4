"""helpers.lm.checkpoints: atomic publishing, verification, pruning, and a SIGKILLed training run resumed bit-exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.lm import checkpoints as ck
from helpers.lm.checkpoints import (MANIFEST, PublishCallback, check_output_dir, is_complete, latest_complete, problem,
                                    publish, resume_from)

from .conftest import kill_after_first_publish, start_worker

REPO = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "_train_worker.py"


def make_checkpoint(root: Path, step: int, tag: str = "") -> Path:
    """A fake Trainer checkpoint folder with a few files (one nested) whose content depends on step and tag."""
    folder = root / f"checkpoint-{step}"
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(os.urandom(4096) + f"{step}{tag}".encode())
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "tag": tag}))
    (folder / "sub" / "extra.bin").write_bytes(b"x" * step)
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under folder but the manifest: relative path -> bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != MANIFEST}


def flip_byte(path: Path, at: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture()
def local(tmp_path):
    return tmp_path / "local"


@pytest.fixture()
def dest(tmp_path):
    return tmp_path / "drive" / "published"


def test_publish_round_trip(local, dest):
    assert latest_complete(dest) is None  # not even created yet
    for step in (10, 20):
        published = publish(make_checkpoint(local, step), dest, keep=5)
        assert published == dest / f"checkpoint-{step}"
    assert latest_complete(dest) == dest / "checkpoint-20"
    assert files_of(dest / "checkpoint-20") == files_of(local / "checkpoint-20")
    manifest = json.loads((dest / "checkpoint-20" / MANIFEST).read_text())
    assert manifest["step"] == 20
    assert sorted(manifest["files"]) == ["model.safetensors", "sub/extra.bin", "trainer_state.json"]
    assert manifest["files"]["sub/extra.bin"]["size"] == 20
    assert sorted(p.name for p in dest.iterdir()) == ["checkpoint-10", "checkpoint-20"]  # no temporaries left


def test_newest_by_step_number_not_by_name(local, dest):
    for step in (9, 10, 100):
        publish(make_checkpoint(local, step), dest, keep=None)
    assert latest_complete(dest) == dest / "checkpoint-100"


def test_corrupted_file_is_skipped(local, dest):
    publish(make_checkpoint(local, 10), dest)
    publish(make_checkpoint(local, 20), dest)
    flip_byte(dest / "checkpoint-20" / "model.safetensors")
    assert "model.safetensors does not match its sha256" in problem(dest / "checkpoint-20")
    assert latest_complete(dest) == dest / "checkpoint-10"


def test_missing_or_truncated_file_is_skipped(local, dest):
    publish(make_checkpoint(local, 10), dest)
    publish(make_checkpoint(local, 20), dest)
    publish(make_checkpoint(local, 30), dest, keep=3)
    (dest / "checkpoint-30" / "sub" / "extra.bin").unlink()
    path = dest / "checkpoint-20" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-1])
    assert problem(dest / "checkpoint-30") == "sub/extra.bin is missing"
    assert "bytes, expected" in problem(dest / "checkpoint-20")
    assert latest_complete(dest) == dest / "checkpoint-10"


def test_hand_copied_folder_without_manifest_is_skipped(local, dest):
    import shutil

    publish(make_checkpoint(local, 10), dest)
    shutil.copytree(make_checkpoint(local, 50), dest / "checkpoint-50")
    assert not is_complete(dest / "checkpoint-50")
    assert latest_complete(dest) == dest / "checkpoint-10"
    publish(make_checkpoint(local, 20), dest, keep=1)
    assert (dest / "checkpoint-50").is_dir()  # not ours: never deleted by pruning
    assert not (dest / "checkpoint-10").exists()


def test_manifest_for_another_step_is_rejected(local, dest):
    publish(make_checkpoint(local, 10), dest)
    (dest / "checkpoint-10").rename(dest / "checkpoint-90")
    assert "not 90" in problem(dest / "checkpoint-90")
    assert latest_complete(dest) is None


def test_keep_prunes_older_complete_ones_and_stale_temporaries(local, dest):
    dest.mkdir(parents=True)
    (dest / ".tmp-checkpoint-5-deadbeef").mkdir()
    (dest / ".tmp-checkpoint-5-deadbeef" / "model.safetensors").write_bytes(b"partial")
    for step in (10, 20, 30, 40):
        publish(make_checkpoint(local, step), dest, keep=2)
    assert sorted(p.name for p in dest.iterdir()) == ["checkpoint-30", "checkpoint-40"]
    with pytest.raises(ValueError, match="keep must be at least 1"):
        publish(make_checkpoint(local, 50), dest, keep=0)


def test_republishing_the_same_step_replaces_it(local, dest):
    publish(make_checkpoint(local, 10), dest)
    publish(make_checkpoint(local, 20, tag="first"), dest)
    publish(make_checkpoint(local, 20, tag="second"), dest)
    assert latest_complete(dest) == dest / "checkpoint-20"
    assert json.loads((dest / "checkpoint-20" / "trainer_state.json").read_text())["tag"] == "second"
    assert sorted(p.name for p in dest.iterdir()) == ["checkpoint-10", "checkpoint-20"]


def test_publish_refuses_a_folder_that_is_not_a_checkpoint(tmp_path, dest):
    (tmp_path / "model").mkdir()
    with pytest.raises(ValueError, match="not a Trainer checkpoint folder"):
        publish(tmp_path / "model", dest)
    with pytest.raises(ValueError, match="not a Trainer checkpoint folder"):
        publish(tmp_path / "checkpoint-7", dest)  # does not exist


def test_copy_failing_half_way_leaves_previous_checkpoint(local, dest, monkeypatch):
    publish(make_checkpoint(local, 10), dest)
    real, calls = ck._copy_file, []

    def failing(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError("Drive went away")
        return real(src, dst)

    monkeypatch.setattr(ck, "_copy_file", failing)
    with pytest.raises(OSError, match="Drive went away"):
        publish(make_checkpoint(local, 20), dest)
    monkeypatch.undo()
    assert latest_complete(dest) == dest / "checkpoint-10"
    assert sorted(p.name for p in dest.iterdir()) == ["checkpoint-10"]
    assert publish(local / "checkpoint-20", dest) == latest_complete(dest) == dest / "checkpoint-20"


KILLED_PUBLISH = r"""
import sys, time
from pathlib import Path
import helpers.lm.checkpoints as ck
real = ck._copy_file
def slow(src, dst):
    out = real(src, dst)
    Path(sys.argv[3]).write_text(str(dst))  # one file is on "Drive": now die
    time.sleep(120)
    return out
ck._copy_file = slow
ck.publish(sys.argv[1], sys.argv[2])
"""


@pytest.mark.slow
def test_publish_sigkilled_mid_copy_leaves_previous_checkpoint(local, dest, tmp_path):
    publish(make_checkpoint(local, 10), dest)
    marker = tmp_path / "copied-one-file"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH, str(make_checkpoint(local, 20)), str(dest),
                             str(marker)], cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, f"publish subprocess exited early with {proc.returncode}"
            assert time.monotonic() < deadline, "publish subprocess never started copying"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = [p for p in dest.iterdir() if p.name.startswith(".tmp-checkpoint-20-")]
    assert len(partial) == 1 and not (partial[0] / MANIFEST).exists()  # it really died mid-copy
    assert latest_complete(dest) == dest / "checkpoint-10"
    assert publish(local / "checkpoint-20", dest) == dest / "checkpoint-20"
    assert latest_complete(dest) == dest / "checkpoint-20"
    assert sorted(p.name for p in dest.iterdir()) == ["checkpoint-10", "checkpoint-20"]  # stale temp pruned


def test_check_output_dir(tmp_path, dest):
    with pytest.raises(ValueError, match="Google Drive mount"):
        check_output_dir("/content/drive/MyDrive/llm-workbook/out")
    with pytest.raises(ValueError, match="inside the publish folder"):
        check_output_dir(dest / "out", dest)
    with pytest.raises(ValueError, match="inside the publish folder"):
        check_output_dir(dest, dest)
    assert check_output_dir(tmp_path / "out", dest) == (tmp_path / "out").resolve()


def test_resume_from(local, dest, tmp_path):
    out = tmp_path / "fresh-vm" / "out"
    assert resume_from(dest, out) is None
    publish(make_checkpoint(local, 10), dest)
    publish(make_checkpoint(local, 20), dest)
    flip_byte(dest / "checkpoint-20" / "model.safetensors")  # the newest is corrupt: resume from 10
    path = resume_from(dest, out)
    assert path == str(out.resolve() / "checkpoint-10")
    assert files_of(Path(path)) == files_of(dest / "checkpoint-10")
    flip_byte(Path(path) / "model.safetensors")  # a damaged local copy is replaced
    assert resume_from(dest, out) == path
    assert files_of(Path(path)) == files_of(dest / "checkpoint-10")
    assert [p.name for p in out.iterdir()] == ["checkpoint-10"]
    with pytest.raises(ValueError, match="inside the publish folder"):
        resume_from(dest, dest / "out")


def test_publish_callback(local, dest):
    callback = PublishCallback(dest, keep=1)
    make_checkpoint(local, 5)
    callback.on_save(SimpleNamespace(output_dir=str(local)), SimpleNamespace(global_step=5, is_world_process_zero=False),
                     None)
    assert latest_complete(dest) is None  # only the main process publishes
    callback.on_save(SimpleNamespace(output_dir=str(local)), SimpleNamespace(global_step=5, is_world_process_zero=True),
                     None)
    assert latest_complete(dest) == dest / "checkpoint-5"
    with pytest.raises(ValueError, match="inside the publish folder"):
        callback.on_train_begin(SimpleNamespace(output_dir=str(dest / "x")), None, None)


# ---------------------------------------------------------------- the key test: SIGKILL a training run, resume



@pytest.mark.slow
def test_killed_training_resumes_to_identical_weights(tmp_path):
    import torch
    from safetensors.torch import load_file

    drive = tmp_path / "drive"
    full, full_log = start_worker(WORKER, tmp_path, "full", "--dest", str(tmp_path / "full-published"))
    killed, killed_log = start_worker(WORKER, tmp_path, "killed", "--dest", str(drive), "--slow-after", "4")
    killed_at = kill_after_first_publish(killed, killed_log, drive)
    assert not (tmp_path / "killed.safetensors").exists()
    assert killed_at is not None and ck.step_of(killed_at) < 12
    start = load_file(killed_at / "model.safetensors")

    # A new VM: an empty local disk, only the Drive folder survives.
    resumed, resumed_log = start_worker(WORKER, tmp_path, "resumed", "--dest", str(drive), "--resume")
    assert resumed.wait(timeout=180) == 0, resumed_log.read_text()
    assert full.wait(timeout=180) == 0, full_log.read_text()
    resumed_text = resumed_log.read_text()
    assert f"RESUME_FROM {tmp_path.resolve() / 'resumed' / 'out' / killed_at.name}" in resumed_text, resumed_text
    assert "FINAL_STEP 12" in resumed_text
    assert latest_complete(drive) == drive / "checkpoint-12"

    expected, got = load_file(tmp_path / "full.safetensors"), load_file(tmp_path / "resumed.safetensors")
    assert expected.keys() == got.keys()
    different = [k for k in expected if not torch.equal(expected[k], got[k])]
    assert not different, f"resumed weights differ from the uninterrupted run in {different}"
    assert any(not torch.equal(start[k], got[k]) for k in start), "the resumed run did not train"
