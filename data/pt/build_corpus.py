"""Assemble the plain-text corpora for notebooks 01 (tokenizer) and 02 (continued pre-training).

Deterministic: run `python data/pt/build_corpus.py` from anywhere and it rewrites
data/pt/{train,valid}.txt and data/general/{train,valid}.txt byte-for-byte identically.

Raw material lives in data/pt/sources/: med_*.txt (medical topics) and gen_*.txt (everyday topics).
Format, one item per line ('#' comments and blank lines are ignored):
    @ topic-name            starts a topic
    E  sentence             English sentence, usable in train documents
    EN sentence             English clinical-note opener (train), may use {age:A-B}
    EV sentence             English sentence used only in valid documents
    Z / ZN / ZV sentence    the same for Chinese; {sex} becomes 男 or 女
Each document is 2-6 sentences of one topic and one language, picked and ordered by a seeded RNG.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

SEED = 20240601
HERE = Path(__file__).resolve().parent
DATA = HERE.parent
SRC = HERE / "sources"

# per-language (English, Chinese) byte targets for the train split
TARGETS = {"med": (56_000, 56_000), "gen": (24_000, 24_000)}
CONN = {
    "E": ["In addition, ", "Also, ", "Moreover, ", "In practice, ", "Importantly, ", "Generally, ", "Notably, "],
    "Z": ["此外，", "另外，", "同时，", "值得注意的是，", "一般来说，", "需要指出的是，"],
}
NO_CONN = ("However", "Also", "In addition", "For example", "Moreover", "Because", "If ", "When ", "Finally")
KEEP_CASE = {"I", "Helicobacter", "Graves", "Alzheimer"}  # sentence-initial words that keep their capital


def parse(paths):
    topics = []
    for path in paths:
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            tag, _, text = line.partition(" ")
            if tag == "@":
                topics.append({"name": text.strip(), **{k: [] for k in ("E", "EN", "EV", "Z", "ZN", "ZV")}})
            elif tag in ("E", "EN", "EV", "Z", "ZN", "ZV"):
                topics[-1][tag].append(text.strip())
            else:
                raise ValueError(f"{path.name}: bad line {raw!r}")
    return topics


def fill(s, rng):
    s = re.sub(r"\{age:(\d+)-(\d+)\}", lambda m: str(rng.randint(int(m[1]), int(m[2]))), s)
    return s.replace("{sex}", rng.choice(["男", "女"]))


def connect(s, lang, rng, left):
    if not left or s.startswith(NO_CONN) or s.startswith(tuple(c.strip(" ，") for c in CONN[lang])):
        return s
    fits = [c for c in left if c.strip(" ，,").lower() not in s.lower()]  # no "Also, ... also ..."
    if not fits:
        return s
    c = fits[rng.randrange(len(fits))]
    left.remove(c)
    if lang == "Z":
        return c + s
    first = s.split(" ", 1)[0].rstrip(",;:").replace("-", "")
    if first.isalpha() and first[1:].islower() and first not in KEEP_CASE:
        s = s[0].lower() + s[1:]
    return c + s


def compose(lang, sents, rng, order=True, p_conn=0.3):
    """Join sentences (first one kept bare), adding a connective (each at most once) to some of the rest."""
    if order is False:
        head, tail = sents[:1], sents[1:]
        rng.shuffle(tail)
        sents = head + tail
    left = list(CONN[lang])
    out = [sents[0]] + [connect(s, lang, rng, left) if rng.random() < p_conn else s for s in sents[1:]]
    return ("" if lang == "Z" else " ").join(fill(s, rng) for s in out)


class Deck:
    """Draw sentence indices evenly: reshuffle only when every sentence has been used."""

    def __init__(self, n, rng):
        self.n, self.rng, self.left = n, rng, []

    def draw(self, k):
        got = []
        while len(got) < k:
            if not self.left:
                self.left = list(range(self.n))
                self.rng.shuffle(self.left)
            i = self.left.pop()
            if i not in got:
                got.append(i)
        return sorted(got)


def train_doc(t, lang, deck, rng):
    pool = t[lang]
    if t[lang + "N"] and rng.random() < 0.3:
        k = rng.randint(1, min(3, len(pool)))
        return compose(lang, [rng.choice(t[lang + "N"])] + [pool[i] for i in deck.draw(k)], rng, p_conn=0)
    k = rng.randint(2, min(6, len(pool)))
    return compose(lang, [pool[i] for i in deck.draw(k)], rng, order=rng.random() < 0.75)


def valid_doc(t, lang, rng):
    vs = t[lang + "V"]
    k = rng.randint(1, min(2, len(t[lang])))
    extra = sorted(rng.sample(range(len(t[lang])), k))
    sents = [t[lang][i] for i in extra]
    for v in vs:
        sents.insert(rng.randint(0, len(sents)), v)
    return compose(lang, sents, rng)


def build(kind, rng):
    topics = parse(sorted(SRC.glob(f"{kind}_*.txt")))
    if not topics:
        raise SystemExit(f"no {kind}_*.txt sources in {SRC}")
    seen, train, valid = set(), [], []
    for t in topics:  # one valid document per topic and language, built around its valid-only sentences
        for lang in ("E", "Z"):
            if t[lang + "V"]:
                doc = valid_doc(t, lang, rng)
                seen.add(doc)
                valid.append(doc)
    decks = {(t["name"], lang): Deck(len(t[lang]), rng) for t in topics for lang in ("E", "Z")}
    size = {"E": 0, "Z": 0}
    for lang, target in zip(("E", "Z"), TARGETS[kind]):
        while size[lang] < target:
            for t in rng.sample(topics, len(topics)):  # a fresh topic order each pass; stop at the target
                if size[lang] >= target:
                    break
                for _ in range(10):
                    doc = train_doc(t, lang, decks[t["name"], lang], rng)
                    if doc not in seen:
                        break
                else:
                    continue
                seen.add(doc)
                train.append(doc)
                size[lang] += len(doc.encode("utf-8")) + 1
    rng.shuffle(train)
    rng.shuffle(valid)
    return train, valid


def write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def main():
    for kind, out in (("med", DATA / "pt"), ("gen", DATA / "general")):
        train, valid = build(kind, random.Random(f"{SEED}-{kind}"))
        for name, lines in (("train.txt", train), ("valid.txt", valid)):
            write(out / name, lines)
            print(f"{out.name}/{name}: {len(lines)} lines, {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
