"""Stage 07 (text2sql) under the tiny profile: the loss falls, labels cover the SQL only, evaluation is read-only."""

from __future__ import annotations

import hashlib

import pytest

from helpers import sql
from helpers.lm.evaluation import early_late
from helpers.stages.text2sql import Text2SQLStage, accuracy, fit_prompt, score


def _seed_tokenizer(root):
    """A small byte-level BPE on the text2sql text, saved where a stage looks for 01's tokenizer (fast, offline)."""
    from helpers.lm.tokenizer import byte_level_bpe, to_transformers

    tables = sql.load_tables()
    texts = [sql.schema_sentences(e) for e in tables.values()]
    texts += [f"{ex['question']} {ex['query']}" for ex in sql.load_examples("train")]
    tok = to_transformers(byte_level_bpe(texts, vocab_size=1000))
    tok.save_pretrained(root / "tokenizer" / "tokenizer")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread for this module's tiny models: on 2 shared cores, a second thread only waits (measured:
    ~5x the wall time when other jobs run alongside). Restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def stage(tmp_path_factory, tiny_profile):
    root = tmp_path_factory.mktemp("run")
    _seed_tokenizer(root)
    st = Text2SQLStage(root=root, profile=tiny_profile, max_steps=24)
    st.run()
    return st


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_stage_trains_evaluates_and_saves(stage):
    early, late = early_late(stage.log_history)
    assert late < early * 0.9, (early, late)
    m = stage.metrics
    assert m["key_metric"] == "execution_accuracy_after"
    assert 0.0 <= m["execution_accuracy_before"] <= 1.0 and 0.0 <= m["execution_accuracy_after"] <= 1.0
    assert m["dev_questions"] == len(stage.rows_after) == len(sql.load_examples("dev"))
    assert m["train_questions"] == 166 and m["synthetic_pairs"] == 4 * stage.settings.synthetic_per_db > 0
    assert m["schema_format"] == "compact" and "executable_rate_after" in m
    assert sum(m["kinds_after"].values()) == m["dev_questions"] and set(m["kinds_after"]) <= set(sql.KINDS)
    assert (stage.output / "model.safetensors").is_file() and (stage.dir / "predictions.json").is_file()
    assert sorted(stage.db_paths) == ["hospital", "library", "school", "shop"]
    assert all(p.parent.parent == stage.dir / "database" for p in stage.db_paths.values())


def test_labels_cover_exactly_the_sql_and_eos(stage):
    """Independent of TRL: the learned tokens are the tokenised ' ' + query + EOS after the tokenised prompt."""
    tok, ds = stage.tok, stage.trainer.train_dataset
    assert len(ds) == len(stage.train_data) > 50
    for i in range(0, len(ds), 9):
        row = ds[i]
        prompt_ids = tok(row["prompt"], add_special_tokens=False)["input_ids"]
        n = len(prompt_ids)
        assert row["input_ids"][:n] == prompt_ids
        assert row["labels"][:n] == [-100] * n, "no prompt token is learned"
        assert row["labels"][n:] == row["input_ids"][n:], "every completion token is learned"
        learned = tok.decode(row["input_ids"][n:])
        assert learned == row["completion"] and learned.endswith(tok.eos_token) and learned.startswith(" ")
        assert len(row["input_ids"]) <= stage.settings.max_length
        batch = stage.trainer.data_collator([row])
        assert (batch["labels"][0] != -100).sum().item() == len(row["input_ids"]) - n


def test_prompts_fit_the_budget_by_dropping_schema_lines(stage):
    ex = next(e for e in stage.examples["dev"] if e["db_id"] == "hospital")
    full = sql.schema_sentences(stage.tables["hospital"])
    prompt, dropped = fit_prompt(stage.tok, ex["question"], full, budget=10_000)
    assert dropped == 0 and prompt == sql.build_prompt(ex["question"], full)
    n = len(stage.tok(prompt, add_special_tokens=False)["input_ids"])
    prompt, dropped = fit_prompt(stage.tok, ex["question"], full, budget=n - 20)
    assert dropped > 0 and len(stage.tok(prompt, add_special_tokens=False)["input_ids"]) <= n - 20
    assert prompt.endswith(f"### Question:\n{ex['question']}\n\nSQL:") and full.splitlines()[0] in prompt


def test_gold_queries_as_predictions_score_one(stage):
    rows = stage.evaluate([ex["query"] for ex in stage.dev])
    assert accuracy(rows) == 1.0 and {r["kind"] for r in rows} == {"match"}


def test_hostile_predictions_are_refused_and_change_nothing(stage):
    db = stage.db_paths["hospital"]
    before = _digest(db)
    ex = next(e for e in stage.dev if e["db_id"] == "hospital")
    hostile = ["DROP TABLE patients", "DELETE FROM patients", "SELECT 1; DROP TABLE patients",
               "UPDATE patients SET name = 'x'", "ATTACH DATABASE 'x.db' AS x", "PRAGMA writable_schema = 1"]
    rows = score([ex] * len(hostile), hostile, stage.db_paths)
    assert [r["kind"] for r in rows] == ["refused"] * len(hostile)
    assert _digest(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name], "no journal or wal file next to the database"
    assert sql.execute_readonly(db, "SELECT count(*) FROM patients") == [(40,)]


def test_evaluation_kinds(stage):
    ex = {"db_id": "hospital", "question": "How many patients?", "query": "SELECT count(*) FROM patients"}
    preds = ["SELECT count(*) FROM patients", "SELECT count(*) FROM doctors", "SELECT count(*) FROM nowhere",
             "SELEC count(*)", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"]
    rows = score([ex] * len(preds), preds, stage.db_paths, timeout_s=0.2)
    assert [r["kind"] for r in rows] == ["match", "wrong result", "execution error", "does not parse", "timeout"]


def test_headless_runner(stage, tmp_path, capsys):
    from helpers.stages import REGISTRY
    from helpers.stages.__main__ import main

    assert "text2sql" in REGISTRY
    (tmp_path / "tokenizer").symlink_to(stage.root / "tokenizer")
    assert main(["text2sql", "--run-dir", str(tmp_path), "--max-steps", "2", "--profile", "tiny"]) == 0
    assert (tmp_path / "text2sql" / "model" / "config.json").is_file()
    assert (tmp_path / "text2sql" / "database" / "hospital" / "hospital.sqlite").is_file()
    assert '"execution_accuracy_after"' in capsys.readouterr().out


def test_rates_and_schema_format_per_profile(tiny_profile, tmp_path):
    from helpers.env.profiles import get_profile
    from helpers.stages.text2sql import executable_rate, parse_rate

    rows = [{"kind": k, "match": k == "match"} for k in ("match", "wrong result", "execution error", "does not parse")]
    assert (accuracy(rows), executable_rate(rows), parse_rate(rows)) == (0.25, 0.5, 0.75)
    assert Text2SQLStage.measure(rows, "after") == {"execution_accuracy_after": 0.25, "executable_rate_after": 0.5,
                                                    "parse_rate_after": 0.75}
    assert Text2SQLStage(root=tmp_path, profile=tiny_profile).format == "compact"
    t4 = get_profile("t4")
    st = Text2SQLStage(root=tmp_path, profile=t4)
    assert st.format == "sentences" and st.settings.synthetic_per_db == 0
    assert Text2SQLStage(root=tmp_path, profile=t4, schema_format="ddl").format == "ddl"


def test_checkpoints_of_another_model_size_are_set_aside_not_loaded(tmp_path, tiny_profile, capsys):
    """A run folder kept from an earlier course version (or other settings): the Trainer would fail half-way through
    loading mismatched tensors. The stage says why, keeps the old checkpoints aside and trains from step 0."""
    def run(hidden: int) -> Text2SQLStage:
        st = Text2SQLStage(root=tmp_path, profile=tiny_profile, max_steps=2, eval_limit=4, synthetic_per_db=0,
                           tiny_model_overrides=dict(hidden_size=hidden, intermediate_size=2 * hidden))
        st.run()
        return st

    run(64)
    assert (tmp_path / "text2sql" / "checkpoints" / "checkpoint-2").is_dir()
    capsys.readouterr()
    st = run(128)
    out = capsys.readouterr().out
    assert "Not resuming from " in out and "checkpoint-2: it was saved by a run with other settings" in out, out
    assert "other shapes" in out and "checkpoints.stale-1" in out
    assert (tmp_path / "text2sql" / "checkpoints.stale-1" / "checkpoint-2" / "MANIFEST.json").is_file()
    assert st.trainer.state.global_step == 2 and st.model.config.hidden_size == 128
