"""What every training stage shares: settings, folders, the tokenizer, the input model, resumable training."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..lm.checkpoints import PublishCallback, checkpoint_mismatch, resume_from, set_aside
from ..env.distributed import barrier, broadcast_object, is_main, main_first
from ..lm.models import build_tiny_causal_lm, fp32_trainable, init_new_token_rows, load_causal_lm, prepare_4bit_base
from ..env.profiles import Profile, get_profile
from ..env.settings import Settings, knob
from ..env.quiet import compact_progress
from ..env.tensorboard import stage_log_dir, trainer_callback
from ..env.runs import DRIVE_ROOT, find_output, run_dir, save_metrics, shown, stage_dir, stage_output


@dataclass(frozen=True)
class TrainerSettings(Settings):
    """The Trainer knobs every TRL-trained stage shares (defaults: the free-Colab T4 recipe). Each stage's settings class
    (PTSettings, SFTSettings, …, next to its stage) adds its steps, learning rate, lengths and own knobs."""

    batch_size: int = knob(4, "examples (packed rows for SFT) per micro-batch and process")
    grad_accum: int = knob(4, "micro-batches per optimizer step")
    save_steps: int = knob(50, "a checkpoint every this many steps (0: only at the end)")
    eval_limit: int | None = knob(None, "held-out examples measured (None: all the split has)")
    hub_limit: int = knob(20000, "training examples read from the hub dataset (data_source hub)")


class Stage:
    """A training stage as named steps. Notebooks call the steps one at a time; `run()` calls them all."""

    name = ""
    settings_class: type[Settings] = TrainerSettings  # each stage: its own, holding all its knobs and their defaults
    steps: tuple[str, ...] = ()
    main_only_steps: tuple[str, ...] = ("save",)  # under torchrun: run by rank 0 alone, the others wait
    # What each step makes (attribute → step), so that a step called out of order names the one to run first; a stage
    # adds its own in `produces`.
    PRODUCES = {"tok": "load", "data": "load", "model": "build_model", "trainer": "build_trainer",
                "log_history": "train"}
    produces: dict[str, str | None] = {}

    def __init__(self, root: str | Path | None = None, profile: Profile | None = None, seed: int = 42, **knobs):
        """`knobs` (e.g. max_steps=2) replace the profile's settings of this stage; None keeps them."""
        self.profile = profile or get_profile()
        self.root = Path(root).resolve() if root else run_dir()
        self.settings = self.settings_class.from_profile(self.profile, self.name, **knobs)
        self.seed = seed
        self.dir = stage_dir(self.name, self.root)
        self.publish_dir = self.dir / "checkpoints"  # on Drive when the run is: survives a disconnect
        local = Path("/content/workbook-local") / self.name if DRIVE_ROOT in self.root.parents else self.dir  # per stage
        self.work_dir = local / "work"  # the Trainer's output_dir: always a local disk
        self.output = stage_output(self.name, self.root)
        self.metrics: dict = {}

    def __getattr__(self, name: str):
        """Called only for an attribute not set yet: one a step makes says which step to run first."""
        step = {**Stage.PRODUCES, **type(self).produces}.get(name)
        if step is None or step not in type(self).steps:  # (a stage maps what it never makes to None)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise AttributeError(f"stage.{name} does not exist yet: the step {step!r} makes it — run stage.{step}() first "
                             f"(this stage's steps, in order: {', '.join(type(self).steps)})")

    def __setattr__(self, name: str, value) -> None:
        """A knob set on the stage itself would be ignored: say where it goes instead."""
        if name not in ("settings", "seed") and name in type(self).settings_class.names():  # seed: the stage's own
            raise AttributeError(f"{name} is a setting of this stage: pass it when building the stage "
                                 f"({type(self).__name__}(..., {name}=...)) or replace the settings "
                                 f"(stage.settings = stage.settings.with_changes({name}=...))")
        super().__setattr__(name, value)

    def train(self) -> None:
        """Train (resuming from the newest published checkpoint when there is one)."""
        self.train_resumable(self.trainer)

    def run(self) -> dict:
        """Every step in order (the headless runner); returns the stage's metrics.

        Under torchrun every process runs every step (training is shared, evaluation is repeated: same weights, same
        seeds, same numbers) except `main_only_steps`, which write the final model: rank 0 runs them, the others wait
        at a barrier. Metrics and checkpoints are written by rank 0 alone (helpers.env.runs, helpers.lm.checkpoints)."""
        for step in self.steps:
            start = time.perf_counter()
            if is_main() or step not in self.main_only_steps:
                getattr(self, step)()
            if step in self.main_only_steps:
                barrier()
            if is_main():
                print(f"── {self.name}: {step} ({time.perf_counter() - start:.1f} s)", flush=True)
        return self.metrics

    # ---- shared pieces
    def tokenizer(self):
        """The tokenizer of the previous stage's model, else 01's, else (saying so) one built now. Under torchrun rank 0
        looks (and builds) first; the others then find what it found or saved."""
        with main_first():
            return self.find_tokenizer()

    def find_tokenizer(self):
        from transformers import AutoTokenizer

        for stage in self.previous():
            found = find_output(stage, self.root)
            if found is not None:
                return AutoTokenizer.from_pretrained(found)
        found = find_output("tokenizer", self.root)
        if found is not None:
            return AutoTokenizer.from_pretrained(found)
        from ..lm.tokenizer import course_tokenizer

        print("No tokenizer from 01_tokenizer in this run: building the course tokenizer now.")
        tok = course_tokenizer(self.profile)
        tok.save_pretrained(stage_output("tokenizer", self.root))
        return tok

    def previous(self) -> tuple[str, ...]:
        """Stages whose output this stage prefers as its input model, most preferred first."""
        return ()

    def input_model(self) -> Path | str | None:
        """The previous stage's saved model if there is one; else the profile's base model (None = tiny init)."""
        for stage in self.previous():
            found = find_output(stage, self.root)
            if found is not None:
                print(f"Input model: the output of stage {stage!r} ({shown(found)}).")
                return found
        if self.previous():
            what = self.profile.base_model or "a tiny random-init model (tiny profile)"
            print(f"No output of {' or '.join(self.previous())} in this run: starting from {what} instead.")
        return self.profile.base_model

    def causal_lm(self, prepare_kbit: bool = True):
        """The input model as a causal LM ready for LoRA: the previous stage's output or the base (a tiny random-init
        model under tiny), embeddings grown to the tokenizer after 01's extension, prepared for 4-bit training."""
        self.base_source = self.input_model()
        self.new_token_ids: list[int] = []
        if self.base_source is None:
            return build_tiny_causal_lm(self.profile, self.tok, seed=self.seed)
        base = load_causal_lm(self.base_source, self.profile, quantize=True)
        self.prepare_vocabulary(base)
        if prepare_kbit and self.profile.load_in_4bit:
            base = prepare_4bit_base(base)
        return base

    def prepare_vocabulary(self, model) -> None:
        """Fit `model` to the tokenizer. Loaded from the profile's base model, 01's added tokens get rows initialised
        from their pieces (helpers.lm.models.init_new_token_rows; their ids in self.new_token_ids); a previous stage's
        output has them trained already (only grown if a longer tokenizer came with it)."""
        self.new_token_ids = self.fit_vocabulary(model, self.base_source)
        if self.new_token_ids:
            print(f"{len(self.new_token_ids)} tokens added in 01 (ids {self.new_token_ids[0]}–"
                  f"{self.new_token_ids[-1]}): rows set to the mean of their pieces' rows in {shown(self.base_source)}.")

    def fit_vocabulary(self, model, source) -> list[int]:
        """Give `model` (loaded from `source`) a row for every token of self.tok; returns the ids initialised from
        their pieces (only when `source` is the profile's base model, whose tokenizer 01 extended)."""
        from transformers import AutoTokenizer

        if source is not None and str(source) == str(self.profile.base_model):
            base_tok = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
            return init_new_token_rows(model, self.tok, base_tok)
        if model.get_input_embeddings().weight.shape[0] < len(self.tok):
            model.resize_token_embeddings(len(self.tok), mean_resizing=True)
        return []

    def reward_model_or_standin(self):
        """04's reward model; without it (saying so) a stand-in whose score head is random — the input model as a
        classifier, fitted to this run's vocabulary — so that a stage opened alone still runs (its rewards are noise)."""
        from ..lm.models import load_reward_model
        from ..lm.rewards import build_tiny_reward_model

        found = find_output("rm", self.root)
        self.reward_dir = found  # None for a stand-in (its measures are not remembered: helpers.stages.memo)
        torch.manual_seed(self.seed)  # a stand-in's random head is the same every time it is built
        if found is not None:
            model = load_reward_model(found, self.profile, self.tok)
            self.reward_source = shown(found)
        else:
            source = getattr(self, "base_source", None) or self.input_model()
            if source is None:
                model = build_tiny_reward_model(self.profile, self.tok, seed=self.seed)
                self.reward_source = "random tiny reward model (04 missing)"
            else:
                model = load_reward_model(source, self.profile, self.tok)
                self.fit_vocabulary(model, source)
                self.reward_source = f"{shown(source)} + random score head (04 missing)"
            print(f"No output of 04_rm in this run: {self.reward_source} stands in — its rewards are noise. Run "
                  "04_rm first for meaningful rewards.")
        model.config.pad_token_id = self.tok.pad_token_id
        return model.eval()

    def training_kwargs(self) -> dict:
        """TrainingArguments keywords common to every stage (local output_dir, steps, precision, saving)."""
        s = self.settings
        return dict(output_dir=str(self.work_dir), max_steps=s.max_steps, per_device_train_batch_size=s.batch_size,
                    gradient_accumulation_steps=s.grad_accum, learning_rate=s.learning_rate,
                    logging_steps=max(1, s.max_steps // 20), save_strategy="steps",
                    save_steps=s.save_steps or s.max_steps, save_total_limit=2, report_to="none", seed=self.seed,
                    data_seed=self.seed, fp16=self.profile.fp16, bf16=self.profile.bf16,
                    activation_checkpointing=self.profile.load_in_4bit, dataloader_num_workers=0,
                    use_cpu=not torch.cuda.is_available(),
                    ddp_find_unused_parameters=False)  # torchrun: every LoRA weight gets a gradient, skip the search

    def callbacks(self) -> list:
        """Checkpoints published to the run directory; training curves to TensorBoard in <run>/<stage>/tensorboard."""
        return [PublishCallback(self.publish_dir, keep=2), trainer_callback(stage_log_dir(self.name, self.root))]

    def train_resumable(self, trainer) -> None:
        """Train, resuming from the newest complete published checkpoint when there is one."""
        fp32_trainable(trainer.model)
        path = resume_from(self.publish_dir, self.work_dir) if is_main() else None
        if path and (why := checkpoint_mismatch(path, trainer.model)):
            moved = set_aside(self.publish_dir)
            print(f"Not resuming from {shown(Path(path))}: it was saved by a run with other settings ({why}). This "
                  f"stage's earlier checkpoints are kept in {shown(moved)} (delete them to free space); training "
                  "starts from step 0.")
            path = None
        path = broadcast_object(path)  # under torchrun: rank 0 copies the checkpoint, every rank resumes from it
        compact_progress(trainer)  # a progress bar with the newest loss, no printed log dicts
        trainer.train(resume_from_checkpoint=path)
        self.log_history = trainer.state.log_history

    def save_metrics(self, **metrics) -> None:
        self.metrics.update(metrics)
        save_metrics(self.name, self.metrics, self.root)
