"""Live training curves in TensorBoard: every stage writes event files to <run>/<stage>/tensorboard.

- Trainer / TRL stages: `trainer_callback(log_dir)` among the Trainer's callbacks (with report_to="none").
  transformers 5.x removed TrainingArguments.logging_dir; its TensorBoardCallback (report_to="tensorboard") writes to
  $TENSORBOARD_LOGGING_DIR, read once when the Trainer is built, else to <output_dir>/runs/<date>_<host> — a
  process-wide variable, and output_dir is the local work folder, not Drive. The callback returned here is the same
  TensorBoardCallback with its folder set, so each stage's curves land in its own folder on the run directory.
- helpers.rl.ppo.PPOTrainer: `ScalarLogger(log_dir)` is the `callback` of `train()`: called with each step's log dict.

Tags are "train/<key>", as the Trainer writes them, so every stage's curves sit side by side in one TensorBoard:

    %load_ext tensorboard
    %tensorboard --logdir <run dir>
"""

from __future__ import annotations

import math
from pathlib import Path

from .runs import stage_dir

FOLDER = "tensorboard"


def stage_log_dir(stage: str, root: Path | None = None) -> Path:
    """<run>/<stage>/tensorboard."""
    return stage_dir(stage, root) / FOLDER


class ScalarLogger:
    """Writes each numeric value of a log dict as a scalar `prefix + key` at the dict's `step_key` value (else at a
    counter). Callable, so it can be passed as PPOTrainer.train(callback=...); close() (or `with`) flushes and closes.

    The event file is opened at the first logged step S, with TensorBoard's purge_step=S: a run resumed from a
    checkpoint at step S-1 hides what the interrupted run had logged from step S on, so the curve does not fold back.
    """

    def __init__(self, log_dir: str | Path, prefix: str = "train/", step_key: str = "step"):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.prefix, self.step_key = prefix, step_key
        self.writer = None
        self.calls = 0
        self.closed = False

    def __call__(self, log: dict) -> None:
        if self.closed:
            raise RuntimeError("ScalarLogger is closed")
        self.calls += 1
        step = int(log.get(self.step_key, self.calls))
        if self.writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(self.log_dir), purge_step=step)
        for key, value in log.items():
            if key == self.step_key or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                self.writer.add_scalar(self.prefix + key, float(value), step)
        self.writer.flush()  # live: TensorBoard sees each step as it is logged

    def close(self) -> None:
        self.closed = True
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> ScalarLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def trainer_callback(log_dir: str | Path):
    """transformers' TensorBoardCallback writing to `log_dir` (created), for Trainer(callbacks=[...]); a resumed run
    purges what the interrupted one logged after the checkpoint (as ScalarLogger does).

    Use it with report_to="none" (report_to="tensorboard" would add a second writer, in output_dir/runs/)."""
    from transformers.integrations import TensorBoardCallback

    class StageTensorBoardCallback(TensorBoardCallback):
        def __init__(self, log_dir: str):
            super().__init__()
            self.logging_dir = log_dir  # kept by on_train_begin, used whenever the writer is (re)opened
            self.purge_step: int | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.purge_step = state.global_step + 1  # 1, or the checkpoint's step + 1 when resuming
            super().on_train_begin(args, state, control, **kwargs)

        def _init_summary_writer(self, args):
            self.tb_writer = self._SummaryWriter(log_dir=self.logging_dir, purge_step=self.purge_step)
            self.purge_step = None

    Path(log_dir).mkdir(parents=True, exist_ok=True)
    return StageTensorBoardCallback(str(log_dir))
