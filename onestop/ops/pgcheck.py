"""Exit 0 when the PostgreSQL server of the given URL answers, 1 otherwise (for `make test`)."""

from __future__ import annotations

import sys


def main(url: str) -> int:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return 0
    except Exception:
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
