"""Chat with every stage: which models a run has, streamed answers that stop at <|im_end|>, the learner's sampling
settings (and nothing of the model's generation_config), RM scores and ranking, the terminal REPL and the widget."""

from __future__ import annotations

import pytest
import torch
from transformers import GenerationConfig

from helpers.learner import chat
from helpers.learner.chat import Answer, ChatSettings
from helpers.lm.generation import generate_plain
from helpers.lm.models import build_tiny_causal_lm
from helpers.lm.rewards import build_tiny_reward_model
from helpers.lm.templates import EOS

PROMPT = "The patient reports a headache."


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_profile, tiny_tokenizer):
    """A run with 03's and 06's chat models, 04's reward model and an unfinished 05 (no config.json)."""
    root = tmp_path_factory.mktemp("run")
    for stage, seed in (("sft", 1), ("dpo", 2)):
        model = build_tiny_causal_lm(tiny_profile, tiny_tokenizer, seed=seed)
        model.generation_config = GenerationConfig(repetition_penalty=50.0, top_k=1, do_sample=True)
        model.save_pretrained(root / stage / "model")
        tiny_tokenizer.save_pretrained(root / stage / "model")
    rm = build_tiny_reward_model(tiny_profile, tiny_tokenizer, seed=3)
    rm.save_pretrained(root / "rm" / "model")
    tiny_tokenizer.save_pretrained(root / "rm" / "model")
    (root / "ppo" / "model").mkdir(parents=True)
    return root


class ScriptedHead(torch.nn.Module):
    """An lm_head whose logits favour `script[i]` at the i-th generated position (then keep favouring the last)."""

    def __init__(self, head, script: list[int]):
        super().__init__()
        self.head, self.script, self.calls = head, script, 0

    def forward(self, hidden):
        logits = self.head(hidden)
        target = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        bias = torch.zeros(logits.shape[-1])
        bias[target] = 1e4
        return logits + bias


def scripted(tiny_profile, tok, script):
    model = build_tiny_causal_lm(tiny_profile, tok, seed=0)
    model.lm_head = ScriptedHead(model.lm_head, script)
    return model


def test_available_models(run_dir, tiny_profile, tmp_path):
    assert chat.available_models(run_dir, tiny_profile) == {"sft": str(run_dir / "sft" / "model"),
                                                            "dpo": str(run_dir / "dpo" / "model")}
    assert chat.reward_model_path(run_dir) == run_dir / "rm" / "model"
    assert chat.available_models(tmp_path, tiny_profile) == {}
    from helpers.env.profiles import get_profile

    assert list(chat.available_models(run_dir, get_profile("t4"))) == ["base", "sft", "dpo"]  # a hub id first
    assert chat.available_models(run_dir, get_profile("t4"))["base"] == "Qwen/Qwen2.5-0.5B"


def test_answer_streams_and_stops_at_im_end(tiny_profile, tiny_tokenizer):
    tok = tiny_tokenizer
    words = tok.encode(" fever and rest", add_special_tokens=False)
    im_end = tok.convert_tokens_to_ids(EOS)
    model = scripted(tiny_profile, tok, words + [im_end])
    pieces: list[str] = []
    out = chat.answer(model, tok, [{"role": "user", "content": PROMPT}], ChatSettings(greedy=True, max_new_tokens=50),
                      stream=pieces.append)
    assert out.stopped and out.tokens == len(words)
    assert out.text == " fever and rest" == "".join(pieces)
    assert chat.stop_token_ids(tok) == [im_end]

    cut = chat.answer(scripted(tiny_profile, tok, words + [im_end]), tok, [{"role": "user", "content": PROMPT}],
                      ChatSettings(greedy=True, max_new_tokens=2))
    assert not cut.stopped and cut.tokens == 2 and cut.text == tok.decode(words[:2])


def test_stop_tokens_of_a_tokenizer_whose_eos_is_not_im_end(tiny_tokenizer):
    import copy

    tok = copy.deepcopy(tiny_tokenizer)
    tok.eos_token = "<|endoftext|>"  # like Qwen2.5's base model
    assert chat.stop_token_ids(tok) == [tok.convert_tokens_to_ids(EOS), tok.convert_tokens_to_ids("<|endoftext|>")]


def test_learner_settings_apply_and_nothing_else(tiny_profile, tiny_tokenizer):
    tok = tiny_tokenizer
    config = chat.generation_config(tok, ChatSettings(temperature=0.5, top_p=0.8, max_new_tokens=7))
    assert (config.do_sample, config.temperature, config.top_p, config.top_k, config.max_new_tokens) == \
        (True, 0.5, 0.8, 0, 7)
    assert config.repetition_penalty == 1.0 and config.eos_token_id == [tok.convert_tokens_to_ids(EOS)]
    assert chat.generation_config(tok, ChatSettings(greedy=True)).do_sample is False

    shaped = build_tiny_causal_lm(tiny_profile, tok, seed=0)
    shaped.generation_config = GenerationConfig(repetition_penalty=50.0, top_k=1, no_repeat_ngram_size=1)
    plain = build_tiny_causal_lm(tiny_profile, tok, seed=0)
    messages = [{"role": "user", "content": PROMPT}]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                  return_dict=True)["input_ids"]
    expected = generate_plain(plain, tok, ids, max_new_tokens=12)[0, ids.shape[1]:].tolist()
    got = chat.answer(shaped, tok, messages, ChatSettings(greedy=True, max_new_tokens=12))
    assert got.text == tok.decode([i for i in expected if i != tok.eos_token_id], skip_special_tokens=True)
    assert shaped.generation_config.repetition_penalty == 50.0  # left as it was

    sampled = [chat.answer(shaped, tok, messages, ChatSettings(temperature=1.0, top_p=1.0, max_new_tokens=12, seed=s))
               for s in (0, 0, 1)]
    assert sampled[0].text == sampled[1].text  # the seed makes sampling repeatable
    assert sampled[0].text != got.text or sampled[2].text != got.text  # and it samples (with top_k off)


def test_rank_sorts_by_rm_score():
    rows = [Answer("a", 1, True, 0.0, model="sft", rm_score=0.1), Answer("b", 1, True, 0.0, model="dpo"),
            Answer("c", 1, True, 0.0, model="ppo", rm_score=0.7)]
    assert [(r.model, r.rank) for r in chat.rank(rows)] == [("ppo", 1), ("sft", 2), ("dpo", None)]


def test_compare_scores_and_ranks(run_dir, tiny_profile):
    models = chat.load_chat_models(chat.available_models(run_dir, tiny_profile), tiny_profile)
    rm = chat.load_rm(run_dir, tiny_profile)
    settings = ChatSettings(greedy=True, max_new_tokens=6, system="Be brief.")
    streamed: dict[str, str] = {}
    rows = chat.compare(models, PROMPT, settings, rm=rm,
                        stream=lambda key, text: streamed.__setitem__(key, streamed.get(key, "") + text))
    assert sorted(r.model for r in rows) == ["dpo", "sft"]
    assert [r.rank for r in rows] == [1, 2] and rows[0].rm_score >= rows[1].rm_score
    assert all(streamed[r.model] == r.text for r in rows)
    from helpers.lm.rewards import reward_scores

    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    expected = reward_scores(rm.model, rm.tokenizer, [messages] * 2, [r.text for r in rows])
    assert [r.rm_score for r in rows] == pytest.approx(expected)
    unranked = chat.compare(models, PROMPT, settings, rm=rm, ranked=False)
    assert [r.model for r in unranked] == ["sft", "dpo"]
    assert chat.as_records(rows)[0]["model"] == rows[0].label


def test_terminal_one_shot(run_dir, capsys):
    assert chat.main(["--run-dir", str(run_dir), "--models", "dpo,sft", "--rm", "--greedy", "--max-new-tokens", "5",
                      "--prompt", PROMPT, "--profile", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "Models: 06 DPO, 03 SFT; scored by 04 RM" in out
    assert "── 06 DPO" in out and "── 03 SFT" in out
    assert out.count("RM ") == 2 and "(#1)" in out and "(#2)" in out
    with pytest.raises(SystemExit):
        chat.main(["--run-dir", str(run_dir), "--models", "ppo", "--prompt", "x", "--profile", "tiny"])
    assert "not in" in capsys.readouterr().err


def test_terminal_repl_reads_until_eof(run_dir, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PROMPT}\n\n高血压患者饮食要注意什么？\n"))
    assert chat.main(["--run-dir", str(run_dir), "--models", "sft", "--greedy", "--max-new-tokens", "3",
                      "--profile", "tiny"]) == 0
    assert capsys.readouterr().out.count("── 03 SFT") == 2


def test_widget_without_a_browser(run_dir, tiny_profile):
    ui = chat.chat_widget(run_dir, tiny_profile, ChatSettings(max_new_tokens=8))
    assert list(ui.pick) == ["sft", "dpo"] and all(box.value for box in ui.pick.values())
    assert ui.use_rm.value and not ui.use_rm.disabled
    ui.greedy.value = True
    assert ui.temperature.disabled and ui.top_p.disabled
    ui.prompt.value = PROMPT
    ui.send.click()  # what the Send button does
    assert len(ui.rows) == 2 and {r.rank for r in ui.rows} == {1, 2}
    assert len(ui.columns.children) == 2 and "RM " in ui.columns.children[0].value
    assert "done: 2 answers" in ui.status.value and not ui.send.disabled
    assert "application/vnd.jupyter.widget-view+json" in ui._repr_mimebundle_()
    ui.pick["dpo"].value = False
    assert [r.model for r in ui.run()] == ["sft"]


def test_widget_of_an_empty_run(tmp_path, tiny_profile):
    ui = chat.chat_widget(tmp_path, tiny_profile)
    assert ui.pick == {} and ui.use_rm.disabled
    ui.prompt.value = "hello"
    assert ui.run() == [] and "tick at least one model" in ui.status.value
