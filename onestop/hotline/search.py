"""Chinese full-text search for the FAQ without a search engine (issue 12): a synonym table
turns the words callers use into the words the answers use (上户口 → 出生登记/落户), and
character bigrams match the rest, so "户口怎么上" still finds the birth-registration answer.

Each entry keeps its bigrams as one text column, each bigram between spaces; a question's
bigrams select candidate entries with ``LIKE '% xy %'`` (the same on SQLite and PostgreSQL)
and the candidates are ranked here: a bigram in the question or the keywords counts more
than one in the answer, and a synonym's target found whole counts most.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data"
MAX_QUERY_GRAMS = 48


def _word_char(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch) == "Lo"


def normalise(text: str) -> str:
    """NFKC, lower case, punctuation and spaces dropped (runs kept apart by one space)."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch if _word_char(ch) else " " for ch in folded)


def grams(text: str) -> set[str]:
    """The character bigrams of each run of ``text`` (a one-character run is itself)."""
    found: set[str] = set()
    for run in normalise(text).split():
        if len(run) == 1:
            found.add(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def gram_column(*texts: str) -> str:
    """The stored search column: every bigram of ``texts``, each between spaces."""
    every: set[str] = set()
    for text in texts:
        every |= grams(text)
    return " " + " ".join(sorted(every)) + " "


@cache
def synonyms() -> Mapping[str, tuple[str, ...]]:
    raw = yaml.safe_load((DATA / "synonyms.yaml").read_text(encoding="utf-8"))
    table = raw.get("synonyms", {}) if isinstance(raw, dict) else {}
    return {
        normalise(str(k)).replace(" ", ""): tuple(str(v) for v in vs) for k, vs in table.items()
    }


def expand(query: str, table: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """The callers' words found in ``query`` → the words the answers use (the targets)."""
    text = normalise(query).replace(" ", "")
    targets: list[str] = []
    for word, words in (table if table is not None else synonyms()).items():
        if word and word in text:
            targets.extend(words)
    return list(dict.fromkeys(targets))


@dataclass(frozen=True)
class Query:
    text: str
    targets: tuple[str, ...]  # synonym targets
    grams: frozenset[str]  # the query's and the targets' bigrams

    @property
    def empty(self) -> bool:
        return not self.grams


def parse_query(text: str) -> Query:
    targets = tuple(expand(text))
    every = set(grams(text))
    for target in targets:
        every |= grams(target)
    ranked = sorted(every)[:MAX_QUERY_GRAMS]
    return Query(text, targets, frozenset(ranked))


def score(query: Query, *, question: str, keywords: str, answer: str) -> float:
    """How well an entry answers ``query`` (0: not at all)."""
    head = grams(question) | grams(keywords)
    body = grams(answer)
    points = 0.0
    for gram in query.grams:
        if gram in head:
            points += 3
        elif gram in body:
            points += 1
    # A question about little else than what was asked ranks above one that mentions it.
    points += 4 * len(query.grams & grams(question)) / max(1, len(grams(question)))
    whole = normalise(question + " " + keywords).replace(" ", "")
    whole_answer = normalise(answer).replace(" ", "")
    for target in query.targets:
        t = normalise(target).replace(" ", "")
        if t and t in whole:
            points += 8
        elif t and t in whole_answer:
            points += 3
    return float(points / max(1, len(query.grams)) ** 0.5)
