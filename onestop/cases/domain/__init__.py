"""The case document (一表申报) as a typed schema that never crashes on bad input."""

from onestop.cases.domain.document import (
    CaseDocument,
    FieldProblem,
    ParsedCase,
    parse_case,
    parse_case_json,
)

__all__ = ["CaseDocument", "FieldProblem", "ParsedCase", "parse_case", "parse_case_json"]
