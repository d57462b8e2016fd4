"""Stage 07: text-to-SQL. LoRA SFT on (schema + question → SQL) pairs, scored by execution accuracy on dev.

The prompt is `helpers.sql.build_prompt(question, schema)`, the completion `" " + query + EOS`, and the loss covers
the completion only (TRL's prompt-completion datasets). Predictions are greedy, stop at EOS, and only ever run
through `helpers.sql.execute_readonly` (inside `classify`): read-only, one SELECT, time-limited.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from .. import sql
from ..lm.lm_head import full_logits_head, host_indexed_head
from ..lm.models import load_causal_lm, lora_config, merge_and_save, tiny_config, with_lora
from ..env.settings import knob
from .base import Stage, TrainerSettings

SCHEMA_FORMATS = ("sentences", "compact", "ddl")


def fit_prompt(tok, question: str, schema_text: str, budget: int) -> tuple[str, int]:
    """build_prompt(question, schema_text) in at most `budget` tokens: whole schema lines are dropped from the end
    (foreign keys first, then the last tables) until it fits. Returns (prompt, number of lines dropped)."""
    lines = schema_text.splitlines()
    for dropped in range(len(lines)):
        prompt = sql.build_prompt(question, "\n".join(lines[:len(lines) - dropped]))
        if len(tok(prompt, add_special_tokens=False)["input_ids"]) <= budget:
            return prompt, dropped
    return prompt, len(lines) - 1  # even one schema line is too long: the caller sees the length


@torch.no_grad()
def generate_sql(model, tok, prompts: list[str], max_new_tokens: int, batch_size: int = 16) -> list[str]:
    """Greedy completions of `prompts` (left-padded batches, stopping at EOS), cut to their first SQL statement. The
    model's generation_config (repetition penalty & co.) is ignored: argmax of the raw logits."""
    from ..lm.generation import generate_plain
    from ..env.progress import progress

    model.eval()
    device = next(model.parameters()).device
    side = tok.padding_side
    tok.padding_side = "left"  # generation continues every row from its last prompt token
    out = []
    try:
        for i in progress(range(0, len(prompts), batch_size), desc="SQL for dev questions"):
            batch = tok(prompts[i:i + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
            batch = {k: v.to(device) for k, v in batch.items()}
            ids = generate_plain(model, tok, batch["input_ids"], batch["attention_mask"], max_new_tokens=max_new_tokens)
            texts = tok.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            out += [sql.extract_sql(t) for t in texts]
    finally:
        tok.padding_side = side
    return out


def score(examples: list[dict], predictions: list[str], db_paths: dict[str, Path],
          timeout_s: float = 2.0) -> list[dict]:
    """One row per example: question, gold, prediction, its kind (helpers.sql.classify) and match. The prediction runs
    only through execute_readonly (one read-only SELECT, at most `timeout_s` seconds)."""
    rows = []
    for ex, pred in zip(examples, predictions, strict=True):
        kind = sql.classify(db_paths[ex["db_id"]], pred, ex["query"], timeout_s=timeout_s)
        rows.append(dict(db_id=ex["db_id"], question=ex["question"], gold=ex["query"], prediction=pred, kind=kind,
                         match=kind == "match"))
    return rows


def accuracy(rows: list[dict]) -> float:
    return sum(r["match"] for r in rows) / len(rows)


def parse_rate(rows: list[dict]) -> float:
    """Share of predictions that parse as SQL (whatever they return): has the model learned the output format?"""
    return sum(r["kind"] != "does not parse" for r in rows) / len(rows)


def executable_rate(rows: list[dict]) -> float:
    """Share of predictions that run and return rows, right or wrong: the model names real tables and columns in valid
    SQL (the step between format, parse_rate, and meaning, accuracy)."""
    return sum(r["kind"] in ("match", "wrong result") for r in rows) / len(rows)


def _flat_keys(entry: dict) -> dict:
    """A tables.json entry with composite primary keys ([[a, b], c] in some Spider releases) flattened."""
    keys = [k for key in entry["primary_keys"] for k in (key if isinstance(key, list) else [key])]
    return {**entry, "primary_keys": keys}


@dataclass(frozen=True)
class Text2SQLSettings(TrainerSettings):
    """Stage 07's knobs (with TrainerSettings': batch, accumulation, saving, dev-question and hub limits)."""

    max_steps: int = knob(300, "optimizer steps")
    learning_rate: float = knob(2e-4, "AdamW learning rate of the LoRA weights")
    max_length: int = knob(1024, "tokens of prompt + SQL; a longer schema loses lines from its end (fit_prompt)")
    max_new_tokens: int | None = knob(None, "generation cap of a predicted query (None: 64 for the tiny random-init "
                                            "model, which rarely stops by itself; 192 for a pretrained one)")
    schema_format: str | None = knob(None, "SCHEMA_FORMATS (None: compact for the tiny model, else DB-GPT-Hub's "
                                           "sentences)")
    synthetic_per_db: int = knob(0, "template question/SQL pairs added per training database (helpers.sql.synth)")
    spider_train_limit: int | None = knob(None, "Spider (use_spider): training questions read (None: all)")
    sql_tokenizer_vocab: int = knob(2000, "tiny only: vocabulary of the stand-in SQL tokenizer (sql_tokenizer)")
    tiny_model_overrides: dict = knob(dict(hidden_size=128, intermediate_size=256),
                                      "tiny only: config of the random-init SQL model")


class Text2SQLStage(Stage):
    name = "text2sql"
    settings_class = Text2SQLSettings
    produces = {**dict.fromkeys(("examples", "tables", "db_paths", "dev", "train_data", "dev_prompts", "synthetic"),
                                "load"),
                "rows_before": "evaluate_before", "rows_after": "evaluate_after"}
    steps = ("load", "build_model", "evaluate_before", "build_trainer", "train", "evaluate_after", "save")
    spider_dir: Path | None = None  # set by use_spider(): the unpacked Spider release (tables.json, database/)

    @property
    def max_new_tokens(self) -> int:
        """Generation cap (Text2SQLSettings.max_new_tokens; None: by model)."""
        return self.settings.max_new_tokens or (64 if self.profile.sql_model is None else 192)

    @property
    def format(self) -> str:
        """The schema format in use (Text2SQLSettings.schema_format; None: "compact" for the tiny CPU model — a third of
        the sentences' tokens: shorter prompts, faster steps — and DB-GPT-Hub's "sentences" otherwise)."""
        return self.settings.schema_format or ("compact" if self.profile.sql_model is None else "sentences")

    @property
    def prompt_budget(self) -> int:
        """Prompt tokens at most, so that prompt + generated SQL fit in max_length."""
        return self.settings.max_length - self.max_new_tokens

    def use_spider(self, spider_dir: str | Path, eval_limit: int = 200, train_limit: int | None = None) -> None:
        """Train and evaluate on Spider instead of the shipped data (call before `load`): questions and gold queries
        from the hub (the profile's `text2sql` dataset, xlangai/spider), databases and tables.json from the unpacked
        official release in `spider_dir` (the hub copy has no databases, and execution needs them)."""
        self.spider_dir = Path(spider_dir)
        if not (self.spider_dir / "tables.json").is_file() or not (self.spider_dir / "database").is_dir():
            raise FileNotFoundError(f"{self.spider_dir} must hold Spider's tables.json and database/<db_id>/<db_id>.sqlite")
        self.settings = replace(self.settings, eval_limit=eval_limit, spider_train_limit=train_limit)

    # ---- steps
    def load(self) -> None:
        """Tokenizer, databases (built into <run>/text2sql/database), schemas, and the prompt/completion pairs."""
        if self.spider_dir is None:
            self.db_paths = sql.build_databases(sql.DATA_DIR, self.dir / "database")
            self.tables = sql.load_tables()
            self.examples = {split: sql.load_examples(split) for split in ("train", "dev")}
        else:
            self.load_spider()
        self.schemas: dict[str, str] = {}
        self.synthetic = self.synthesize()
        self.tok = self.load_tokenizer()
        dev, limit = self.examples["dev"], self.settings.eval_limit
        if self.spider_dir is not None:  # a few Spider gold queries do not run read-only: they cannot be scored
            dev = [ex for ex in dev[:2 * limit if limit else None] if self.gold_runs(ex)]
        self.dev = dev if limit is None else dev[:limit]
        self.train_data = self.pairs(self.training_examples)
        self.dev_prompts = [self.prompt(ex)[0] for ex in self.dev]
        self.metrics.update(train_questions=len(self.examples["train"]), train_pairs=len(self.train_data),
                            dev_questions=len(self.dev), schema_format=self.format,
                            synthetic_pairs=len(self.synthetic))

    def build_model(self) -> None:
        """The profile's SQL model with LoRA on every linear layer. Under tiny the base is a random-init model on the
        course tokenizer: its embedding and output layers hold nothing for LoRA to steer, so they are trained in full
        (`modules_to_save`, as in 02); a hub model keeps them frozen."""
        from peft import prepare_model_for_kbit_training

        self.base_source = self.profile.sql_model
        if self.base_source is None:
            print("Tiny profile: a random-init model stands in for the SQL model (it knows no SQL).")
            torch.manual_seed(self.seed)
            base = AutoModelForCausalLM.from_config(tiny_config(self.profile, self.tok, **self.settings.tiny_model_overrides))
            full = ["embed_tokens", "lm_head"]
        else:
            base = load_causal_lm(self.base_source, self.profile, quantize=True)
            full = None
        if self.profile.load_in_4bit:
            base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=True)
        self.model = with_lora(base, lora_config(self.profile, modules_to_save=full))

    def evaluate_before(self) -> None:
        self.rows_before = self.evaluate()
        self.save_metrics(**self.measure(self.rows_before, "before"))

    def sft_config(self):
        from trl import SFTConfig

        return SFTConfig(**self.training_kwargs(), max_length=self.settings.max_length, completion_only_loss=True,
                         packing=False, dataset_num_proc=None)

    def build_trainer(self) -> None:
        from datasets import Dataset
        from trl import SFTTrainer

        train = Dataset.from_list([{"prompt": p["prompt"], "completion": p["completion"]} for p in self.train_data])
        self.trainer = SFTTrainer(model=self.model, args=self.sft_config(), train_dataset=train,
                                  processing_class=self.tok, callbacks=self.callbacks())
        if not full_logits_head(self.trainer.model):  # on a CPU: full logits + fp32 log-softmax beat TRL's head
            host_indexed_head(self.trainer)  # on a GPU: TRL's kernel over rows the collator lists (no sync)

    def train(self) -> None:
        self.train_resumable(self.trainer)
        losses = [h["loss"] for h in self.log_history if "loss" in h]
        self.save_metrics(first_loss=losses[0], final_loss=losses[-1])

    def evaluate_after(self) -> None:
        self.rows_after = self.evaluate()
        self.save_metrics(**self.measure(self.rows_after, "after"))

    @staticmethod
    def measure(rows: list[dict], when: str) -> dict:
        """The held-out metrics of scored dev rows: execution accuracy, the share that runs, the share that parses."""
        return {f"execution_accuracy_{when}": accuracy(rows), f"executable_rate_{when}": executable_rate(rows),
                f"parse_rate_{when}": parse_rate(rows)}

    def save(self) -> None:
        merge_and_save(self.model, self.tok, self.output, profile=self.profile, base_source=self.base_source)
        rows = {"before": self.rows_before, "after": self.rows_after}
        (self.dir / "predictions.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
        self.save_metrics(key_metric="execution_accuracy_after",
                          kinds_after=dict(Counter(r["kind"] for r in self.rows_after)))

    # ---- pieces the notebook shows
    def load_tokenizer(self):
        """The SQL model's own tokenizer (a hub model's, on Colab); under tiny, a stand-in trained now (sql_tokenizer)."""
        if self.profile.sql_model is None:
            return self.sql_tokenizer()
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(self.profile.sql_model, trust_remote_code=False)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        return tok

    def sql_tokenizer(self):
        """Under tiny, the stand-in for a code model's tokenizer: a byte-level BPE (the course's special tokens and
        chat template) trained on the *training* split only — its prompts (instruction, schema, question) and gold
        queries; dev questions and queries never. A code model's tokenizer has learned on a large code corpus to
        spend few tokens on SQL keywords and snake_case identifiers; 01's tokenizer, trained on medical text, splits
        them into many more pieces than this one does, which costs a tiny CPU run its
        steps and drops long pairs. The price of the stand-in: it knows these four schemas' names as whole tokens,
        which makes copying a column name easier than with a general code tokenizer."""
        from ..lm.tokenizer import byte_level_bpe, to_transformers

        texts = [sql.build_prompt(ex["question"], self.schema_text(ex["db_id"])) + " " + ex["query"]
                 for ex in self.training_examples]
        return to_transformers(byte_level_bpe(texts, self.settings.sql_tokenizer_vocab))

    def schema_text(self, db_id: str) -> str:
        """The schema text of one database in the stage's format, computed once."""
        if db_id not in self.schemas:
            self.schemas[db_id] = self.schema(db_id)
        return self.schemas[db_id]

    def schema(self, db_id: str, schema_format: str | None = None) -> str:
        """The schema text of one database in `schema_format` (default: the stage's)."""
        schema_format = schema_format or self.format
        if schema_format == "sentences":
            return sql.schema_sentences(_flat_keys(self.tables[db_id]))
        if schema_format == "compact":
            return sql.schema_compact(_flat_keys(self.tables[db_id]))
        if schema_format == "ddl":
            return sql.schema_ddl(self.db_paths[db_id])
        raise ValueError(f"unknown schema format {schema_format!r}; expected one of {SCHEMA_FORMATS}")

    def prompt(self, ex: dict) -> tuple[str, int]:
        """The prompt of one question (schema lines dropped to fit prompt_budget) and how many lines were dropped."""
        return fit_prompt(self.tok, ex["question"], self.schema_text(ex["db_id"]), self.prompt_budget)

    def pairs(self, examples: list[dict]) -> list[dict]:
        """Prompt/completion pairs for TRL: completion = ' ' + gold query + EOS (the loss covers it, not the prompt).
        Pairs longer than max_length are left out rather than cut (a cut would lose the end of the SQL and its EOS)."""
        out, cut, dropped = [], 0, 0
        for ex in examples:
            prompt, lost = self.prompt(ex)
            completion = " " + ex["query"] + self.tok.eos_token
            n = len(self.tok(prompt + completion, add_special_tokens=False)["input_ids"])
            if n > self.settings.max_length:
                dropped += 1
                continue
            cut += lost > 0
            out.append(dict(prompt=prompt, completion=completion, db_id=ex["db_id"], tokens=n))
        if cut or dropped:
            print(f"max_length={self.settings.max_length}: {cut} prompts lost schema lines to fit "
                  f"{self.prompt_budget} tokens; {dropped} of {len(examples)} pairs were still too long and are left out.")
        self.metrics.update(train_prompts_cut=cut, train_pairs_dropped=dropped)
        return out

    def evaluate(self, predictions: list[str] | None = None) -> list[dict]:
        """Score `predictions` (default: the model's greedy SQL for the dev prompts) by execution on dev."""
        if predictions is None:
            predictions = generate_sql(self.model, self.tok, self.dev_prompts, self.max_new_tokens)
        return score(self.dev, predictions, self.db_paths)

    @property
    def training_examples(self) -> list[dict]:
        """What the model trains on: the labelled training questions, then the template pairs."""
        return self.examples["train"] + self.synthetic

    def synthesize(self) -> list[dict]:
        """Template pairs (helpers.sql.synth) over the databases of the training questions, none repeating a dev gold
        query: `synthetic_per_db` per database (Text2SQLSettings)."""
        from ..sql.synth import query_key, synthesize

        n = self.settings.synthetic_per_db
        held_out = {query_key(ex["query"]) for ex in self.examples["dev"]}
        dbs = sorted({ex["db_id"] for ex in self.examples["train"]})
        return [pair for i, db in enumerate(dbs) if n
                for pair in synthesize(self.tables[db], self.db_paths[db], n, seed=self.seed + i, exclude=held_out)]

    def gold_runs(self, ex: dict) -> bool:
        try:
            sql.execute_readonly(self.db_paths[ex["db_id"]], ex["query"])
        except Exception:  # noqa: BLE001 - any failure means the question cannot be scored
            return False
        return True

    def load_spider(self) -> None:
        """Spider: hub questions (train / validation) over the databases of the unpacked release."""
        from datasets import load_dataset

        repo = (self.profile.hub_datasets.get("text2sql") or "xlangai/spider").partition(":")[0]
        self.tables = sql.load_tables(self.spider_dir / "tables.json")
        self.db_paths = {db: self.spider_dir / "database" / db / f"{db}.sqlite" for db in self.tables}
        self.examples = {}
        for split, hub_split in (("train", "train"), ("dev", "validation")):
            rows = load_dataset(repo, split=hub_split)
            limit = self.settings.spider_train_limit if split == "train" else None
            rows = rows.select(range(min(limit, len(rows)))) if limit else rows
            self.examples[split] = [{k: r[k] for k in ("db_id", "question", "query")} for r in rows
                                    if r["db_id"] in self.db_paths and self.db_paths[r["db_id"]].is_file()]

    # ---- tables for the notebook
    def examples_table(self, n: int = 8):
        """The first `n` dev questions: gold SQL, the prediction after training, its kind."""
        import pandas as pd

        return pd.DataFrame(self.rows_after[:n])[["question", "gold", "prediction", "kind", "match"]]

    def kinds_table(self):
        """How many dev predictions fall in each kind (helpers.sql.KINDS), before and after training."""
        import pandas as pd

        counts = {label: Counter(r["kind"] for r in rows)
                  for label, rows in (("before", self.rows_before), ("after", self.rows_after))}
        return pd.DataFrame({label: [c.get(k, 0) for k in sql.KINDS] for label, c in counts.items()},
                            index=list(sql.KINDS))
