"""Build the shipped chat data: SFT conversations and preference pairs (medical, Chinese and English).

    python data/build_chat_data.py              # rewrites data/sft/*.jsonl, data/preference/*.jsonl, data/sft/CARD.md
    python data/build_chat_data.py --out DIR    # writes the same files under DIR instead (the tests compare them)

Deterministic: fixed seeds and ordered iteration, so re-running reproduces the committed files byte for byte.
The text lives in data files under data/chat_source/ (written for this project, CC-BY-4.0; nothing is copied
from other datasets or websites; general health information for teaching, not medical advice):

- conditions.json   the knowledge table: per condition and language, several ways a user asks (q), a helpful
                    answer (a), follow-up questions with answers (f), red-flag symptoms (red, a noun phrase list),
                    an overconfident false claim (dis) and a dangerous piece of advice (harm). The last two only
                    ever appear in *rejected* replies. Conditions with "split": "valid" are held out whole.
- sft_phrases.json  openings, follow-up wordings, red-flag sentences, closings of the conversations.
- preference.json   the failure kinds of the rejected replies, and short safety-net sentences.
- card_template.md  the data card (data/sft/CARD.md), filled in with the sizes and length statistics.

This script only composes: pick a phrasing, join sentences, balance the lengths of chosen and rejected answers.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

# One random stream (SEED) composes the SFT conversations, the preference prompts and the failure kind of each
# pair, interleaved condition by condition as in the first version of this script, so those stay as they were;
# a second stream (PAIR_SEED) makes the choices that shape the preference answers and balance their lengths.
SEED = 20240607
PAIR_SEED = 20250301
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "chat_source"
SFT_PER_COMBO = 3  # conversations per (condition, language); human-turn counts 1, 2, 3 in shuffled order
KINDS = ("unhelpful", "dishonest", "harmful", "off_topic")  # one preference pair of each per (condition, language)
MULTI_TURN_PREF = 0.3  # share of preference prompts that carry one earlier exchange
MAX_CHARS = 880  # upper bound on the characters of a whole SFT conversation
CHOSEN_SAFETY = 0.5  # share of short chosen answers ending with a safety-net sentence (the rest: two answer sentences)
REJECTED_SAFETY = {"unhelpful": 0.4, "dishonest": 0.4}  # share of these rejected replies that end with one too


def load(name: str):
    return json.loads((SOURCE / name).read_text(encoding="utf-8"))


CONDITIONS = load("conditions.json")
PHRASES = load("sft_phrases.json")
PREF = load("preference.json")

# ---------------------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------------------
_SENT_END = re.compile(r"[.!?](?=\s|$)|[。！？]")


def n_sentences(text: str) -> int:
    """Sentence count: ASCII terminators followed by a space or the end, and Chinese terminators."""
    return max(1, len(_SENT_END.findall(text)))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", text.strip()) if s]


def join(lang: str, parts) -> str:
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def level(cond: dict) -> str:
    return "urgent" if cond["urgent"] else "normal"


def turn(role: str, value: str) -> dict:
    return {"from": role, "value": value}


def red_sentence(rng: random.Random, cond: dict, lang: str) -> str:
    return rng.choice(PHRASES["red_templates"][lang][level(cond)]).format(red=cond[lang]["red"])


def opener(rng: random.Random, cond: dict, lang: str) -> str:
    pools = PHRASES["openers"][lang]
    if cond["emergency"]:
        return ""
    r = rng.random()
    if r < 0.15:
        return rng.choice(pools["hedge"])
    if r < 0.45:
        return rng.choice(pools["sym" if cond["sym"] else "q"])
    return ""


def answer(rng: random.Random, cond: dict, lang: str, with_red: bool) -> str:
    """Opening (sometimes) + the condition's answer + (optionally) a red-flag sentence; at most 4 sentences."""
    body = cond[lang]["a"]
    red = red_sentence(rng, cond, lang) if with_red else ""
    op = opener(rng, cond, lang)
    if n_sentences(body) + bool(red) + 1 > 4:
        op = ""
    return join(lang, [op, body, red])


def human_ask(rng: random.Random, cond: dict, lang: str, ask: str) -> str:
    if cond["emergency"]:
        return rng.choice(PHRASES["emergency_prefix"][lang]) + ask
    text = rng.choice(PHRASES["ask_prefix"][lang]) + ask + rng.choice(PHRASES["ask_suffix"][lang])
    return text if n_sentences(text) <= 3 else ask


def follow_q(rng: random.Random, lang: str, q: str) -> str:
    return rng.choice(PHRASES["follow_prefix"][lang]) + q


# ---------------------------------------------------------------------------------------------------------
# SFT conversations
# ---------------------------------------------------------------------------------------------------------
def doctor_exchange(rng: random.Random, cond: dict, lang: str) -> tuple[str, str]:
    a = red_sentence(rng, cond, lang)
    if rng.random() < 0.6:
        a = join(lang, [a, rng.choice(PHRASES["doctor_tail"][lang][level(cond)])])
    return follow_q(rng, lang, rng.choice(PHRASES["doctor_q"][lang])), a


def total_chars(conv: list[dict]) -> int:
    return sum(len(t["value"]) for t in conv)


def sft_conversation(rng: random.Random, cond: dict, lang: str, ask: str, n_human: int) -> dict:
    """One ShareGPT conversation with n_human human turns (1-3), kept under MAX_CHARS."""
    emergency = cond["emergency"]
    red_first = n_human == 1 or emergency or rng.random() < 0.5
    specific = list(cond[lang]["f"])
    rng.shuffle(specific)
    later: list[tuple[str, str, str]] = []  # (kind, question, answer)
    if n_human >= 2:
        if not red_first:
            later.append(("doctor",) + doctor_exchange(rng, cond, lang))
            if n_human == 3:
                later.insert(rng.randrange(2), ("specific", follow_q(rng, lang, specific[0][0]), specific[0][1]))
        else:
            later.append(("specific", follow_q(rng, lang, specific[0][0]), specific[0][1]))
            if n_human == 3:
                if not emergency and rng.random() < 0.3:
                    thanks, welcome = PHRASES["thanks"][lang]
                    later.append(("thanks", rng.choice(thanks), rng.choice(welcome)))
                else:
                    later.append(("specific", follow_q(rng, lang, specific[1][0]), specific[1][1]))
    system = rng.choice(PHRASES["systems"][lang]) if rng.random() < 0.45 else ""
    first_q = human_ask(rng, cond, lang, ask)
    first_a = answer(rng, cond, lang, with_red=red_first)

    def build(system, first_a, later):
        conv = [turn("system", system)] if system else []
        conv += [turn("human", first_q), turn("gpt", first_a)]
        for _kind, q, a in later:
            conv += [turn("human", q), turn("gpt", a)]
        return conv

    conv = build(system, first_a, later)
    # Shorten step by step until it fits: no system turn, plainer first answer, shorter follow-up answers.
    # The condition's answer itself is never cut, so it always answers the question asked.
    plain = first_a[first_a.find(cond[lang]["a"]):]  # without the opening sentence
    brief = [(k, q, sentences(a)[0] if k == "specific" else a) for k, q, a in later]
    for system, first_a, later in [("", first_a, later), ("", plain, later), ("", plain, brief), ("", plain, brief[:-1])]:
        if total_chars(conv) <= MAX_CHARS:
            break
        conv = build(system, first_a, later)
    if total_chars(conv) > MAX_CHARS:
        raise ValueError(f"conversation too long for {cond['id']}/{lang}: {total_chars(conv)}")
    return {"conversations": conv}


# ---------------------------------------------------------------------------------------------------------
# Preference pairs
# ---------------------------------------------------------------------------------------------------------
def rejected_parts(rng: random.Random, cond: dict, lang: str, kind: str) -> tuple[str, list[str]]:
    """The core of a rejected reply and further sentences of the same failure that can lengthen it."""
    if kind == "unhelpful":
        return rng.choice(PREF["unhelpful"][lang]["core"]), list(PREF["unhelpful"][lang]["more"])
    if kind == "off_topic":
        topic = rng.choice(PREF["off_topic"][lang])
        return topic[0], topic[1:]
    pre, post = PREF[kind][lang]["wrap"]
    claim = cond[lang]["dis" if kind == "dishonest" else "harm"]
    return rng.choice(pre) + claim + rng.choice(post), list(PREF[kind][lang]["more"])


def grow(lang: str, core: str, more: list[str], goal: float, cap: float = float("inf")) -> str:
    """`core` plus sentences from `more`, in order, until it reaches `goal` characters; never `cap` or more."""
    text = core
    for sentence in more:
        longer = join(lang, [text, sentence])
        if len(text) >= goal or len(longer) >= cap:
            break
        text = longer
    return text


def balance(prng: random.Random, lang: str, full: str, short: str, core: str, more: list[str], tail: str,
            chosen_longer: bool) -> tuple[str, str]:
    """Pick the chosen answer (the full or the short one) and lengthen the rejected one (core + sentences from
    `more` + `tail`) so that the chosen answer is the longer one exactly when `chosen_longer` (as far as the texts
    allow; the tests check the shares)."""
    chosen = full if prng.random() < 0.5 else short
    if chosen_longer:
        if len(join(lang, [core, tail])) >= len(chosen):
            chosen = full
        goal, cap = len(chosen) * prng.uniform(0.6, 1.0), len(chosen)
    else:
        if len(join(lang, [core, *more, tail])) <= len(full):
            chosen = short
        goal, cap = len(chosen) * prng.uniform(1.0, 1.1) + 1, float("inf")
    extra = len(tail) + (tail != "" and lang == "en")
    return chosen, join(lang, [grow(lang, core, more, goal - extra, cap - extra), tail])


def preference_pair(rng: random.Random, prng: random.Random, cond: dict, lang: str, ask: str, kind: str,
                    chosen_longer: bool) -> dict:
    prompt = [turn("system", rng.choice(PHRASES["systems"][lang]))] if rng.random() < 0.2 else []
    prompt.append(turn("human", human_ask(rng, cond, lang, ask)))
    if rng.random() < MULTI_TURN_PREF:
        fq, fa = rng.choice(cond[lang]["f"])
        prompt += [turn("gpt", cond[lang]["a"]), turn("human", follow_q(rng, lang, fq))]
        full, core_answer = join(lang, [fa, red_sentence(rng, cond, lang)]), fa
    else:
        full, core_answer = answer(rng, cond, lang, with_red=True), cond[lang]["a"]
    core, more = rejected_parts(rng, cond, lang, kind)
    if kind != "off_topic":  # an off-topic reply keeps its topic's order
        prng.shuffle(more)
    safety = PREF["safety"][lang][level(cond)]
    # The short chosen answer: the gist plus a safety net, or the first two sentences of the answer.
    first = sentences(core_answer)
    short = join(lang, [first[0], prng.choice(safety)] if len(first) < 2 or prng.random() < CHOSEN_SAFETY
                 else first[:2])
    # Some evasive and some false answers end with a generic safety net too: it is no proof of a good answer.
    tail = prng.choice(safety) if prng.random() < REJECTED_SAFETY.get(kind, 0.0) else ""
    chosen, rejected = balance(prng, lang, full, short, core, more, tail, chosen_longer)
    assert chosen != rejected
    return {"conversations": prompt, "chosen": chosen, "rejected": rejected, "kind": kind}


# ---------------------------------------------------------------------------------------------------------
# Build and write
# ---------------------------------------------------------------------------------------------------------
def build() -> dict[str, list[dict]]:
    rng, prng = random.Random(SEED), random.Random(PAIR_SEED)
    out: dict[str, list[dict]] = {"sft/train": [], "sft/valid": [], "preference/train": [], "preference/valid": []}
    longer_next = {}  # (split, kind) -> whether its next pair has the longer chosen answer (alternates)
    for cond in CONDITIONS:
        split = cond["split"]
        for lang in ("en", "zh"):
            asks = list(cond[lang]["q"])
            rng.shuffle(asks)
            turns = [1, 2, 3]
            rng.shuffle(turns)
            for i in range(SFT_PER_COMBO):
                out[f"sft/{split}"].append(sft_conversation(rng, cond, lang, asks[i % len(asks)], turns[i % 3]))
            kinds = list(KINDS)
            rng.shuffle(kinds)
            start = rng.randrange(len(asks))
            for i, kind in enumerate(kinds):
                longer = longer_next.setdefault((split, kind), prng.random() < 0.5)
                longer_next[split, kind] = not longer
                out[f"preference/{split}"].append(
                    preference_pair(rng, prng, cond, lang, asks[(start + i) % len(asks)], kind, longer))
    for rows in out.values():
        rng.shuffle(rows)
    return out


def lang_of(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def first_human(row: dict) -> str:
    return next(t["value"] for t in row["conversations"] if t["from"] == "human")


def judge(rows: list[dict], score) -> float:
    """Accuracy of a trivial judge that prefers the answer with the higher `score(text)`; a tie counts half."""
    points = [(c > r) + 0.5 * (c == r) for c, r in ((score(x["chosen"]), score(x["rejected"])) for x in rows)]
    return sum(points) / len(points)


def length_stats(rows: list[dict]) -> str:
    """One row of the card's length table: chosen-longer share, trivial judges, mean lengths in characters."""
    chosen, rejected = [len(x["chosen"]) for x in rows], [len(x["rejected"]) for x in rows]
    longer = sum(c > r for c, r in zip(chosen, rejected)) / len(rows)
    judges = [judge(rows, len), judge(rows, lambda t: -n_sentences(t)), judge(rows, lambda t: len(t) / n_sentences(t))]
    return (f"{longer:.0%} | " + " | ".join(f"{j:.2f}" for j in judges)
            + f" | {sum(chosen) / len(rows):.0f} | {sum(rejected) / len(rows):.0f} |")


def card(out: dict[str, list[dict]], sizes: dict[str, int]) -> str:
    rows, lengths = [], []
    for name, data in out.items():
        zh = sum(lang_of(first_human(r)) == "zh" for r in data)
        if name.startswith("sft"):
            multi = sum(sum(t["from"] == "human" for t in r["conversations"]) >= 2 for r in data)
            sys_n = sum(r["conversations"][0]["from"] == "system" for r in data)
            note = f"{zh} zh / {len(data) - zh} en; {multi} multi-turn; {sys_n} with a system turn"
        else:
            note = f"{zh} zh / {len(data) - zh} en; " + ", ".join(f"{k} {sum(r['kind'] == k for r in data)}"
                                                                  for k in KINDS)
            lengths.append(f"| `{name}` | {length_stats(data)}")
        rows.append(f"| `data/{name}.jsonl` | {len(data)} | {sizes[name]:,} | {note} |")
    valid_ids = [c["id"] for c in CONDITIONS if c["split"] == "valid"]
    prefs = out["preference/train"] + out["preference/valid"]
    pref_multi = round(100 * sum(len(r["conversations"]) - (r["conversations"][0]["from"] == "system") > 1
                                 for r in prefs) / len(prefs))
    template = (SOURCE / "card_template.md").read_text(encoding="utf-8")
    return template.format(seed=SEED, pair_seed=PAIR_SEED, n_cond=len(CONDITIONS), file_rows="\n".join(rows),
                           length_rows="\n".join(lengths), n_valid=len(valid_ids), valid_ids=", ".join(valid_ids),
                           n_train=len(CONDITIONS) - len(valid_ids), pref_multi=pref_multi)


def write_jsonl(path: Path, rows: list[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    path.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write sft/ and preference/ into")
    out_dir = parser.parse_args(argv).out
    out = build()
    sizes = {name: write_jsonl(out_dir / f"{name}.jsonl", rows) for name, rows in out.items()}
    (out_dir / "sft" / "CARD.md").write_bytes(card(out, sizes).encode("utf-8"))
    for name, rows in out.items():
        print(f"{out_dir / name}.jsonl: {len(rows)} rows, {sizes[name]} bytes")


if __name__ == "__main__":
    main()
