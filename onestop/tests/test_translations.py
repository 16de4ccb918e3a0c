"""The English catalogue (onestop/locale/en/LC_MESSAGES/django.po) is complete, consistent
with its sources and compiled.

Chinese is the source language; every user-facing string is wrapped for translation and
English must be available for all of them. When a test here fails after you changed a
template or a Python module, run `make messages`, translate the new or fuzzy entries in
django.po, and run `make messages` again to compile the .mo. No database is needed.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.utils import translation

PACKAGE = Path(__file__).resolve().parent.parent
MESSAGES = PACKAGE / "locale" / "en" / "LC_MESSAGES"
PO_FILE = MESSAGES / "django.po"
MO_FILE = MESSAGES / "django.mo"

FIX = (
    "run `make messages`, translate the new/fuzzy entries in "
    "onestop/locale/en/LC_MESSAGES/django.po, then run `make messages` again to compile"
)

Key = tuple[str | None, str]  # (msgctxt, msgid)


# --- a small .po parser ------------------------------------------------------------------


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> Key:
        return (self.msgctxt, self.msgid)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def where(self) -> str:
        ctx = f" (msgctxt {self.msgctxt!r})" if self.msgctxt is not None else ""
        return f"django.po:{self.line} msgid {self.msgid!r}{ctx}"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(token: str) -> str:
    body = token.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), body)


@cache
def po_entries() -> tuple[Entry, ...]:
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which field a continuation line extends

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(PO_FILE.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):  # obsolete entries are not part of the catalogue
            continue
        if line.startswith("#"):
            if current is not None and current.msgid and target is not None:
                finish()  # comments start a new entry even without a blank line
            if current is None:
                current = Entry(number)
            if line.startswith("#,"):
                current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, token = match[1], match[2], match[3]
            if keyword in ("msgctxt", "msgid") and current is not None and target is not None:
                if target[0] == "msgstr":
                    finish()
            if current is None:
                current = Entry(number)
            value = _unquote(token)
            if keyword == "msgctxt":
                current.msgctxt, target = value, ("msgctxt", 0)
            elif keyword == "msgid":
                current.msgid, current.line, target = value, number, ("msgid", 0)
            elif keyword == "msgid_plural":
                current.msgid_plural, target = value, ("msgid_plural", 0)
            else:
                n = int(index) if index is not None else 0
                current.msgstr[n], target = value, ("msgstr", n)
            continue
        assert line.startswith('"') and current is not None and target is not None, (
            f"django.po:{number}: cannot parse {raw!r}"
        )
        value = _unquote(line)
        name, n = target
        if name == "msgctxt":
            current.msgctxt = (current.msgctxt or "") + value
        elif name == "msgid":
            current.msgid += value
        elif name == "msgid_plural":
            current.msgid_plural = (current.msgid_plural or "") + value
        else:
            current.msgstr[n] += value
    finish()
    return tuple(entries)


def messages() -> list[Entry]:
    return [e for e in po_entries() if not e.is_header]


# --- (a) complete: nothing empty, nothing fuzzy --------------------------------------------


def test_po_parses_and_has_a_header():
    entries = po_entries()
    assert entries and entries[0].is_header, "django.po must start with its header entry"
    header = entries[0].msgstr.get(0, "")
    assert "charset=UTF-8" in header
    assert len(messages()) > 100
    keys = [e.key for e in messages()]
    assert len(keys) == len(set(keys)), "duplicate msgid/msgctxt pairs in django.po"


def test_every_entry_is_translated_and_none_is_fuzzy():
    empty = [e.where() for e in messages() if not e.msgstr or not all(e.msgstr.values())]
    fuzzy = [e.where() for e in messages() if "fuzzy" in e.flags]
    assert not empty and not fuzzy, (
        f"{len(empty)} untranslated and {len(fuzzy)} fuzzy entries — {FIX}:\n"
        + "\n".join([*(f"untranslated: {e}" for e in empty), *(f"fuzzy: {f}" for f in fuzzy)])
    )


def test_plural_entries_have_every_form():
    for entry in messages():
        if entry.msgid_plural is None:
            assert list(entry.msgstr) == [0], f"{entry.where()}: msgstr[n] without msgid_plural"
        else:
            assert sorted(entry.msgstr) == [0, 1], f"{entry.where()}: needs msgstr[0] and [1]"


# --- (b) placeholders survive translation --------------------------------------------------

_BRACE = re.compile(r"(?<!\{)\{([A-Za-z_]\w*|\d*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")
_PERCENT = re.compile(r"%(?:\((\w+)\))?[#0\- +]*(?:\d+|\*)?(?:\.\d+)?([diouxXeEfFgGcrsa%])")


def placeholders(text: str) -> Counter[str]:
    found: Counter[str] = Counter("{" + m[1] + "}" for m in _BRACE.finditer(text))
    for m in _PERCENT.finditer(text):
        if m[2] != "%":
            found["%(" + m[1] + ")" if m[1] else "%" + m[2]] += 1
    return found


def test_placeholder_patterns():
    assert placeholders("已上传 {n} 份，{word}{word}") == Counter({"{n}": 1, "{word}": 2})
    assert placeholders("已由 %(name)s 于 %(at)s，100%% 完成 %d") == Counter(
        {"%(name)": 1, "%(at)": 1, "%d": 1}
    )
    assert placeholders("{{literal}} {0} {x:>3}") == Counter({"{0}": 1, "{x}": 1})


def test_placeholders_match_between_msgid_and_msgstr():
    problems = []
    for entry in messages():
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        wanted = [set(placeholders(s)) for s in sources]
        for n, text in entry.msgstr.items():
            got = set(placeholders(text))
            # English singular forms may drop the count ("one file"), never add anything.
            ok = got == wanted[-1] if n > 0 or len(wanted) == 1 else got <= wanted[0] | wanted[-1]
            if not ok:
                expected = sorted(wanted[min(n, len(wanted) - 1)])
                problems.append(f"{entry.where()} msgstr[{n}]: {sorted(got)} != {expected}")
    assert not problems, "placeholders differ between msgid and msgstr:\n" + "\n".join(problems)


def test_format_flags_are_consistent():
    """Entries Django extracts with a format flag really format in English too."""
    problems = []
    for entry in messages():
        if "python-brace-format" in entry.flags:
            names = {p.strip("{}") for p in placeholders(entry.msgid) if p.startswith("{")}
            values = dict.fromkeys(names, "X")
            for text in entry.msgstr.values():
                try:
                    text.format(**values)
                except (KeyError, IndexError, ValueError) as error:
                    problems.append(f"{entry.where()}: {error!r}")
    assert not problems, "\n".join(problems)


# --- (c) the compiled .mo matches the .po -----------------------------------------------


@cache
def compiled() -> gettext.GNUTranslations:
    with MO_FILE.open("rb") as handle:
        return gettext.GNUTranslations(handle)


def test_mo_is_compiled_from_the_current_po():
    assert MO_FILE.exists(), f"{MO_FILE} is missing — {FIX}"
    mo = compiled()
    stale = []
    for entry in messages():
        if entry.msgid_plural is None:
            if entry.msgctxt is None:
                got = mo.gettext(entry.msgid)
            else:
                got = mo.pgettext(entry.msgctxt, entry.msgid)
            if got != entry.msgstr[0]:
                stale.append(f"{entry.where()}: .mo gives {got!r}, .po says {entry.msgstr[0]!r}")
            continue
        for n, count in ((0, 1), (1, 2)):
            if entry.msgctxt is None:
                got = mo.ngettext(entry.msgid, entry.msgid_plural, count)
            else:
                got = mo.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, count)
            if got != entry.msgstr.get(n):
                stale.append(f"{entry.where()} [{n}]: .mo gives {got!r}")
    assert not stale, f"django.mo is out of date ({len(stale)}) — {FIX}:\n" + "\n".join(stale)


# --- (d) every literal string in the sources is in the catalogue ---------------------------

# {% translate "…" %} / {% trans '…' %} with an optional `context "…"`, `noop`, `as var`.
_TEMPLATE_TAG = re.compile(
    r"""\{%-?\s*trans(?:late)?\s+(?P<q>["'])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)(?P<rest>.*?)-?%\}""",
    re.DOTALL,
)
_CONTEXT = re.compile(r"""\bcontext\s+(?P<q>["'])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)""")
_TEMPLATE_UNESCAPE = re.compile(r"\\(.)")

# Function name -> (position of msgctxt or None, position of msgid)
_FUNCTIONS: dict[str, tuple[int | None, int]] = {
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
_EXCLUDED_DIRS = {"tests", "migrations", "testing", "__pycache__", "var"}


@dataclass(frozen=True)
class Literal:
    where: str
    key: Key


def _template_literals(path: Path, text: str) -> list[Literal]:
    found = []
    for match in _TEMPLATE_TAG.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        msgid = _TEMPLATE_UNESCAPE.sub(r"\1", match["text"])
        context = _CONTEXT.search(match["rest"])
        ctxt = _TEMPLATE_UNESCAPE.sub(r"\1", context["text"]) if context else None
        found.append(Literal(f"{path.relative_to(PACKAGE.parent)}:{line}", (ctxt, msgid)))
    return found


def _translation_names(tree: ast.Module) -> tuple[dict[str, str], set[str]]:
    """Local names bound to django.utils.translation functions, and names of the module."""
    functions: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if alias.name in _FUNCTIONS:
                    functions[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module == "django.utils":
            modules.update(a.asname or a.name for a in node.names if a.name == "translation")
    return functions, modules


def _python_literals(path: Path, text: str) -> list[Literal]:
    if "django.utils" not in text:
        return []
    tree = ast.parse(text, str(path))
    functions, modules = _translation_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in functions:
            name = functions[func.id]
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in modules
            and func.attr in _FUNCTIONS
        ):
            name = func.attr
        else:
            continue
        ctxt_at, msgid_at = _FUNCTIONS[name]
        args = node.args
        if len(args) <= msgid_at:
            continue
        values = [a.value if isinstance(a, ast.Constant) else None for a in args]
        msgid = values[msgid_at]
        ctxt = values[ctxt_at] if ctxt_at is not None else None
        if not isinstance(msgid, str) or (ctxt_at is not None and not isinstance(ctxt, str)):
            continue  # a variable or an f-string: not extractable, nothing to check
        where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
        found.append(Literal(where, (ctxt if isinstance(ctxt, str) else None, msgid)))
    return found


def _source_files() -> tuple[list[Path], list[Path]]:
    templates, modules = [], []
    for path in sorted(PACKAGE.rglob("*")):
        parts = set(path.relative_to(PACKAGE).parts[:-1])
        if parts & _EXCLUDED_DIRS or not path.is_file():
            continue
        if path.suffix == ".html" and "templates" in parts:
            templates.append(path)
        elif path.suffix == ".py":
            modules.append(path)
    return templates, modules


@cache
def source_literals() -> tuple[Literal, ...]:
    templates, modules = _source_files()
    found: list[Literal] = []
    for path in templates:
        found += _template_literals(path, path.read_text(encoding="utf-8"))
    for path in modules:
        found += _python_literals(path, path.read_text(encoding="utf-8"))
    return tuple(found)


def test_scanner_reads_tags_and_calls():
    html = (
        """{% translate "一" %}{% trans '二' %}{% translate "say \\"三\\"" as x %}"""
        """{% translate "四" context "月" %}{% translate some_var %}"""
        """{% blocktranslate %}五{% endblocktranslate %}"""
    )
    keys = [lit.key for lit in _template_literals(PACKAGE / "x.html", html)]
    assert keys == [(None, "一"), (None, "二"), (None, 'say "三"'), ("月", "四")]
    code = (
        "from django.utils.translation import gettext_lazy as _, pgettext\n"
        "from django.utils import translation\n"
        "A = _('一\\'s')\n"
        'B = _("二" "三")\n'
        "C = pgettext('月', '五月')\n"
        'D = translation.gettext("四")\n'
        "E = _(f'{A}')\n"
        "F = str('不是')\n"
    )
    keys = [lit.key for lit in _python_literals(PACKAGE / "x.py", code)]
    assert sorted(keys, key=str) == sorted(
        [(None, "一's"), (None, "二三"), ("月", "五月"), (None, "四")], key=str
    )


def test_every_source_literal_is_in_the_catalogue():
    literals = source_literals()
    assert len(literals) > 100, "the scanner found suspiciously few translatable strings"
    known = {e.key for e in messages()}
    missing = []
    for literal in literals:
        ctxt, msgid = literal.key
        # Django's template extractor doubles % in {% translate %} strings.
        if literal.key not in known and (ctxt, msgid.replace("%", "%%")) not in known:
            missing.append(f"{literal.where}: {msgid!r}")
    assert not missing, (
        f"{len(missing)} translatable string(s) are not in django.po — {FIX}:\n"
        + "\n".join(sorted(set(missing)))
    )


# --- (e) Django really serves the English catalogue ------------------------------------


def test_django_renders_english_and_chinese():
    with translation.override("en"):
        assert translation.gettext("智能导引") == "Eligibility guide"
        assert translation.gettext("已上传 {n} 份材料").format(n=2) == "Uploaded 2 file(s)"
    with translation.override("zh-hans"):
        assert translation.gettext("智能导引") == "智能导引"
