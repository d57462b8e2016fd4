"""A chapter prints nothing but its lesson (helpers.env.quiet): the checker finds every kind of noise and passes a clean
lesson; `helpers.learner.course` (make course, make rehearsal) saves finished progress bars, starts kernels that print
nothing to the terminal and fails on a noisy notebook; the trainers log as bars, not as dicts or `step=` lines."""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers.env.quiet import WIDGET_STATE, WIDGET_VIEW, finish_progress_bars, scan_cell_outputs, scan_notebook
from tests.test_ppo import one_thread  # noqa: F401  (a fixture: tiny models run fastest on one thread)


def stream(text: str, name: str = "stdout"):
    return new_output("stream", name=name, text=text)


def display(**data):
    return new_output("display_data", data=data)


def widget(model_id: str, text: str):
    return display(**{WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
                      "text/plain": text})


def tqdm_states(model_id: str, left: str, value: float, total: float, right: str, leave: bool = True) -> dict:
    """Widget models as nbclient saves a tqdm.notebook bar: an HBox of HTML, FloatProgress, HTML; its layout hidden
    when the bar was closed with leave=False."""
    ids = [f"{model_id}-{i}" for i in range(3)]
    return {
        model_id: {"model_name": "HBoxModel", "state": {"children": [f"IPY_MODEL_{i}" for i in ids],
                                                        "layout": f"IPY_MODEL_{model_id}-layout"}},
        f"{model_id}-layout": {"model_name": "LayoutModel", "state": {"visibility": None if leave else "hidden"}},
        ids[0]: {"model_name": "HTMLModel", "state": {"value": left.replace(" ", "\u2007")}},
        ids[1]: {"model_name": "FloatProgressModel", "state": {"value": value, "max": total}},
        ids[2]: {"model_name": "HTMLModel", "state": {"value": right.replace(" ", "\u2007").replace("<", "&lt;")}},
    }


def notebook(outputs: list, states: dict | None = None):
    nb = new_notebook(cells=[new_code_cell("x", outputs=[o]) for o in outputs])
    if states is not None:
        nb.metadata["widgets"] = {WIDGET_STATE: {"state": states, "version_major": 2, "version_minor": 0}}
    return nb


LESSON = [
    stream("Input model: the output of stage 'sft' (<run>/sft/model).\nsaved to ./runs/course/ppo/model\n"),
    stream("{'num_generations': 4, 'loss_type': 'dapo', 'beta': 0.05}\n"),  # a dict the lesson prints: no log
    stream("step=1 reward=0.1\nstep=2 reward=0.3\n"),  # two lines read as a worked example
    stream("Tokenizing: 100%|██████████| 3/3 [00:00<00:00]\n"),
    display(**{"text/html": "<progress value='24' max='24'></progress> [24/24 00:07]", "text/plain": "<HTML>"}),
    widget("done", "Loading weights: 100%|██████████| 27/27 [00:00<00:00]"),
]
NOISE = {
    "stderr": stream("Failed to load CPU gemm_4bit_forward\n", name="stderr"),
    "ANSI escape code": stream("[transformers] \x1b[1mQwen2ForSequenceClassification LOAD REPORT\x1b[0m\n"),
    "machine path": stream("run directory: /home/me/llm-workbook/runs/course\n"),
    "warning": stream("peft_model.py:184: FutureWarning: `is_gradient_checkpointing` is deprecated\n"),
    "raw log dict": stream("{'loss': '-0.1281', 'grad_norm': '0.6594', 'epoch': '0.00641'}\n"),
    "per-step log lines (show a table or a plot)": stream("".join(f"step={i} reward=0.{i} kl=0\n" for i in range(9))),
    "frozen progress bar": stream("\r  0%|          | 0/3 [00:00<?, ?it/s]\r 33%|███▎      | 1/3 [00:01<00:02]\n"),
}


def test_a_clean_lesson_passes():
    states = tqdm_states("done", "Loading weights: 100%", 27, 27, " 27/27 [00:00<00:00]")
    assert scan_notebook(notebook(LESSON, states)) == []
    assert scan_cell_outputs(LESSON) == []


@pytest.mark.parametrize("reason", list(NOISE))
def test_each_kind_of_noise_is_found_with_its_cell(reason):
    found = scan_notebook(notebook(LESSON + [NOISE[reason]]))
    assert [(n.cell, n.reason) for n in found] == [(len(LESSON), reason)], found
    assert any(r == reason for r, _ in scan_cell_outputs([NOISE[reason]]))


def test_machine_paths_of_every_kind():
    for text in ("/work/main/runs/x", "/root/.cache/huggingface", "/tmp/quiet_run/sft/model",
                 "lib/python3.11/site-packages/peft/peft_model.py", ".venv/bin/python", "(/Users/me/x)"):
        assert [n.reason for n in scan_notebook(notebook([stream(text)]))] == ["machine path"], text
    for text in ("<run>/sft/model", "https://huggingface.co/home/x", "runs/course/executed", "tmp/x"):
        assert scan_notebook(notebook([stream(text)])) == [], text


def test_step_lines_printed_one_output_each_are_one_stream():
    """A training loop's print per step arrives as one output per line: the cell's stream is judged as a whole."""
    nb = notebook([])
    nb.cells = [new_code_cell("train()", outputs=[stream(f"step={i} reward=0.{i} kl=0\n") for i in range(30)])]
    (noise,) = scan_notebook(nb)
    assert noise.reason.startswith("per-step log lines") and "30 lines" in noise.excerpt


def test_progress_bars_saved_as_they_ended():
    """A tqdm widget keeps the text it was first sent ("0%"); its end lives in the saved widget state. Saved as it
    began it is a frozen bar; finish_progress_bars writes its end; a bar that stopped short stays reported; a bar
    that was closed or hidden (leave=False, helpers.env.progress) is gone, as in a live notebook."""
    states = {**tqdm_states("done", "Loading weights: 100%", 27, 27, " 27/27 [00:00<00:00, 3361.72it/s]"),
              **tqdm_states("short", "Generating:  40%", 2, 5, " 2/5 [00:03<00:04]"),
              **tqdm_states("nototal", "", 1, 1, "Map: 234 examples [00:00, 900 examples/s]"),
              **tqdm_states("hidden", "ppl: 83%", 6, 6, " 5/6 [00:00<00:00]", leave=False)}
    outputs = [widget("done", "Loading weights:   0%|          | 0/27 [00:00<?, ?it/s]"),
               widget("short", "Generating:   0%|          | 0/5 [00:00<?, ?it/s]"),
               widget("nototal", "Map: 0 examples [00:00, ? examples/s]"),
               widget("closed", "Loading weights:   0%|          | 0/27 [00:00<?, ?it/s]"),
               widget("hidden", "ppl:   0%|          | 0/6 [00:00<?, ?it/s]"),
               display(**{"text/html": "<progress value='3' max='24'></progress> [3/24 00:01 < 00:07]"})]
    nb = notebook(outputs, states)
    assert [(n.cell, n.reason) for n in scan_notebook(nb)] == [(i, "frozen progress bar") for i in (0, 1, 3, 4, 5)]
    assert finish_progress_bars(nb) == 5  # three texts rewritten, a closed and a hidden bar dropped
    texts = [[o["data"].get("text/plain") for o in cell.outputs] for cell in nb.cells]
    assert texts[0] == ["Loading weights: 100%|██████████| 27/27 [00:00<00:00, 3361.72it/s]"]
    assert texts[1] == ["Generating:  40%|████      | 2/5 [00:03<00:04]"]
    assert texts[2] == ["Map: 234 examples [00:00, 900 examples/s]"] and texts[3] == texts[4] == []
    assert [(n.cell, n.reason) for n in scan_notebook(nb)] == [(1, "frozen progress bar"), (5, "frozen progress bar")]


def test_quiet_libraries_hides_library_deprecations_not_ours(tiny_model):
    from helpers.env.quiet import quiet_libraries

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_libraries()
        assert isinstance(tiny_model.is_gradient_checkpointing, bool)  # transformers warns inside itself
        warnings.warn("ours", FutureWarning)
    assert [str(w.message) for w in caught] == ["ours"]


def test_reward_model_from_a_causal_lm_prints_no_load_report(tiny_model, tiny_tokenizer, tiny_profile, tmp_path, capfd):
    from helpers.lm.models import load_reward_model

    tiny_model.save_pretrained(tmp_path / "lm")
    capfd.readouterr()
    load_reward_model(tmp_path / "lm", tiny_profile, tiny_tokenizer)
    out, err = capfd.readouterr()
    assert "LOAD REPORT" not in out + err and "\x1b[" not in out + err, err
    assert "score` head is new" in out  # what the learner is told instead, in plain words


@pytest.mark.slow
def test_trainer_logs_as_a_bar_not_as_dicts(tiny_model, tiny_tokenizer, tmp_path, capfd, one_thread):
    """transformers prints each log as a dict (PrinterCallback with disable_tqdm, ProgressCallback's writes in a
    terminal); compact_progress leaves a bar with the newest loss."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    from helpers.env.quiet import compact_progress

    ids = tiny_tokenizer("The patient reports a headache.")["input_ids"]
    data = Dataset.from_dict({"input_ids": [ids] * 8, "labels": [ids] * 8})
    for disable_tqdm in (True, False):
        args = TrainingArguments(output_dir=str(tmp_path / str(disable_tqdm)), max_steps=3, logging_steps=1,
                                 per_device_train_batch_size=2, report_to="none", use_cpu=True, save_strategy="no",
                                 disable_tqdm=disable_tqdm)
        trainer = Trainer(model=tiny_model, args=args, train_dataset=data)
        compact_progress(trainer)
        capfd.readouterr()
        trainer.train()
        out, err = capfd.readouterr()
        assert "{'" not in out + err, out + err
        assert "3/3" in err and "loss=" in err, err


@pytest.mark.slow
def test_ppo_trains_with_a_bar_not_step_lines(capfd, one_thread):
    import torch

    from tests.test_ppo import build_toy

    torch.manual_seed(0)
    trainer = build_toy(steps=2)
    capfd.readouterr()
    history = trainer.train()
    out, err = capfd.readouterr()
    assert len(history) == 2 and "step=" not in out + err
    assert "PPO steps" in err and "2/2" in err and "reward=" in err, err


@pytest.mark.slow
def test_course_saves_quiet_notebooks_and_fails_on_a_noisy_one(tmp_path, monkeypatch, capfd):
    """Two notebooks through `python -m helpers.learner.course`: the kernel says nothing on the terminal (no "Kernel is
    running over TCP without encryption"), a tqdm bar is saved as it ended (one closed with leave=False not at all),
    the notebook that writes to stderr fails the run with its cell named, each kernel is shut down with its notebook."""
    from helpers.learner import course

    quiet = new_notebook(cells=[new_code_cell("from tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='work'):\n"
                                              "    pass\nfor _ in tqdm(range(3), desc='gone', leave=False):\n"
                                              "    pass\nprint('done')"),
                                new_code_cell("import os\nprint('kernel', os.getpid())")])
    noisy = new_notebook(cells=[new_code_cell("print('lesson')"),
                                new_code_cell("import sys\nprint('oops', file=sys.stderr)")])
    for name, nb in (("01_quiet.ipynb", quiet), ("02_noisy.ipynb", noisy)):
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / name)
    monkeypatch.setenv("WORKBOOK_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("WORKBOOK_PROFILE", "tiny")
    capfd.readouterr()
    code = course.main([str(tmp_path / "01_quiet.ipynb"), str(tmp_path / "02_noisy.ipynb"), "--timeout", "120"])
    out, err = capfd.readouterr()
    assert code == 0 and err == "", err  # listed, not fatal: nbval's hook fails noise under tiny
    assert "1 noisy outputs" in out and "02_noisy.ipynb cell 1: stderr" in out, out
    executed = nbformat.read(tmp_path / "run" / "executed" / "01_quiet.ipynb", as_version=4)
    assert scan_notebook(executed) == []
    bars = [o for o in executed.cells[0].outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(bars) == 1 and bars[0]["data"]["text/plain"].startswith("work: 100%|██████████| 3/3"), \
        json.dumps(executed.cells[0].outputs, ensure_ascii=False)[:500]
    kernel = int(executed.cells[1].outputs[0]["text"].split()[1])
    for _ in range(50):  # the kernel was shut down with its notebook
        if not Path(f"/proc/{kernel}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{kernel}").exists() or sys.platform != "linux"
