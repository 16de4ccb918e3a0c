"""`python -m onestop.ops.profile_officer` (docs/performance.md, session 25 h-officerpages):
its dumps are compared with ``diff -r``, so only the CSRF token values may be blanked."""

from __future__ import annotations

from onestop.ops.profile_officer import _blank, parse


def test_only_the_csrf_token_values_are_blanked():
    page = (
        '<form><input type="hidden" name="csrfmiddlewaretoken" value="aB3x">'
        '<input type="hidden" name="version" value="7"></form>'
        '<input type="hidden" name="csrfmiddlewaretoken" value="Zz9">'
    )
    assert _blank(page) == (
        '<form><input type="hidden" name="csrfmiddlewaretoken" value="-">'
        '<input type="hidden" name="version" value="7"></form>'
        '<input type="hidden" name="csrfmiddlewaretoken" value="-">'
    )


def test_arguments():
    args = parse(["--reuse", "/tmp/x", "--dump", "/tmp/pages"])
    assert args.reuse == "/tmp/x" and args.dump == "/tmp/pages"
    assert args.per_state == 3 and args.page_cache == 0 and not args.child
