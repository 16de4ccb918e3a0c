"""Reading one YAML data file (a policy pack, a catalogue file) into its pydantic model.

Any problem raises `PackError` with one Chinese line that names the file and says where
and what: unreadable, not UTF-8, not YAML (line and column), or not valid for the model
(the paths of the fields at fault)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from onestop.core.errors import PackError

M = TypeVar("M", bound=BaseModel)


def read_model(
    path: Path,
    model: type[M],
    *,
    what: str,
    context: dict[str, Any] | None = None,
    empty: object = None,
) -> M:
    """``path`` read as YAML and validated as ``model``; ``what`` names the kind of file in
    the messages (政策包, 事项目录); an empty file is read as ``empty``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(f"无法读取{what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PackError(f"{what} {path} 不是 UTF-8 编码: {exc.reason}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PackError(f"{what} {path} 不是有效的 YAML{_yaml_problem(exc)}") from None
    try:
        return model.model_validate(empty if raw is None else raw, context=context)
    except ValidationError as exc:
        problems = "; ".join(_problem(err["loc"], err["msg"]) for err in exc.errors())
        raise PackError(f"{what} {path} 无效: {problems}") from None


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    """``where: what``; a whole-file check names its own paths (``items.7.item: …``)."""
    where = ".".join(str(part) for part in loc)
    if not where and message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    return f"{where or '(顶层)'}: {message}"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what the YAML problem is, on one line (PyYAML's own text spans lines)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" (第 {mark.line + 1} 行第 {mark.column + 1} 列)" if mark is not None else ""
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return f"{where}: {problem}"
