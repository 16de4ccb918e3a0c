"""Every ``cite`` in a packaged pack quotes its seed document (or, prefixed "spec:", docs/spec).

Both sides are normalised with NFKC (full-width digits and punctuation become ASCII) and
all whitespace is removed, so line breaks and the seeds' irregular spacing don't matter.
For the Markdown spec, emphasis markers (``*``) and code backticks are dropped as well:
a cite quotes the words, not their mark-up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml

from onestop.policy.loader import PACKAGED_PACKS

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "docs" / "seeds"
SPECS = REPO / "docs" / "spec"
SPEC_PREFIX = "spec:"
PACK_FILES = sorted(PACKAGED_PACKS.glob("*.yaml"))

_WHITESPACE = re.compile(r"\s+")
_MARKDOWN = re.compile(r"[*`]")


def normalise(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def normalise_markdown(text: str) -> str:
    return _MARKDOWN.sub("", normalise(text))


def raw_pack(path: Path) -> dict[str, object]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return data


def cites(node: object, path: str = "") -> Iterator[tuple[str, object]]:
    """(path, value) of every key named ``cite`` or ending ``_cite``, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (key == "cite" or key.endswith("_cite")):
                yield where, value
            else:
                yield from cites(value, where)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from cites(value, f"{path}[{index}]")


@cache
def seed_text(name: str) -> str:
    return normalise((SEEDS / name).read_text(encoding="utf-8"))


@cache
def spec_texts() -> dict[str, str]:
    return {p.name: normalise_markdown(p.read_text(encoding="utf-8")) for p in SPECS.glob("*.md")}


def cite_problem(pack: dict[str, object], cite: object) -> str | None:
    """Why ``cite`` is not a quotation of the pack's seed or of the spec, or None."""
    if not isinstance(cite, str) or not cite.strip():
        return "is not a non-empty string"
    if cite.startswith(SPEC_PREFIX):
        quoted = normalise_markdown(cite[len(SPEC_PREFIX) :])
        if not quoted:
            return "quotes nothing after 'spec:'"
        if not any(quoted in text for text in spec_texts().values()):
            return f"does not occur in any of {sorted(spec_texts())} (docs/spec)"
        return None
    seed = pack.get("seed")
    if not isinstance(seed, str):
        return "quotes a seed, but the pack names no `seed:` file"
    if not (SEEDS / seed).is_file():
        return f"quotes seed {seed}, which is not in docs/seeds"
    if normalise(cite) not in seed_text(seed):
        return f"does not occur in seed {seed}"
    return None


def test_there_are_five_packs_with_seeds() -> None:
    assert [p.stem for p in PACK_FILES] == ["fuzhou", "jilin", "lanzhou", "qinbei", "yuanling"]
    for path in PACK_FILES:
        seed = raw_pack(path).get("seed")
        assert isinstance(seed, str) and (SEEDS / seed).is_file(), f"{path.name}: seed {seed!r}"
    assert spec_texts(), "docs/spec/*.md not found"


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.stem)
def test_every_cite_quotes_the_seed_or_spec(path: Path) -> None:
    pack = raw_pack(path)
    found = list(cites(pack))
    # items and rules alone give more than ten cites in every pack: the walk really walks
    assert len(found) > 10, f"{path.name}: only {len(found)} cites found"
    failures = [
        f"{path.name}: {where}: {cite!r} {problem}"
        for where, cite in found
        if (problem := cite_problem(pack, cite)) is not None
    ]
    assert not failures, "cites that are not quotations:\n" + "\n".join(failures)


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.stem)
def test_every_item_rule_and_material_cites(path: Path) -> None:
    pack = raw_pack(path)
    for section in ("items", "rules", "materials"):
        entries = pack.get(section)
        assert isinstance(entries, list), f"{path.name}: {section}"
        for index, entry in enumerate(entries):
            assert isinstance(entry, dict) and entry.get("cite"), (
                f"{path.name}: {section}[{index}] has no cite"
            )


def test_the_checker_catches_a_misquote() -> None:
    pack = raw_pack(PACKAGED_PACKS / "qinbei.yaml")
    assert cite_problem(pack, "出生登记办结时限为 2 个工作日") is None  # spacing ignored
    assert cite_problem(pack, "出生登记办结时限为２个工作日") is None  # full-width digit
    assert cite_problem(pack, "出生登记办结时限为3个工作日") is not None
    assert cite_problem(pack, "spec: Standard rule (lanzhou, yuanling, qinbei, jilin)") is None
    assert cite_problem(pack, "spec: a sentence no spec contains") is not None
    assert cite_problem({}, "出生登记办结时限为2个工作日") is not None
    found = dict(cites({"a": [{"cite": "x"}, {"b": {"clock_rule_cite": "y"}}]}))
    assert found == {"a[0].cite": "x", "a[1].b.clock_rule_cite": "y"}
