"""Backup and restore drill (PostgreSQL): back up, restore elsewhere, compare, verify.

    python -m onestop.ops.restore_drill                       # a scratch database with demo data
    python -m onestop.ops.restore_drill --source-url URL --data-dir DIR   # an existing one

1. Source: a scratch database on the server (``--server-url``, default the local
   ``postgres://postgres@127.0.0.1:5432/postgres``), migrated, loaded with the demo data
   and anchored; or the database ``--source-url`` with its data folder ``--data-dir``.
2. Backup: ``pg_dump --format=custom`` plus the data folder (keys, encrypted uploads, seal
   keys, audit anchors) in one tarball, ``onestop-backup-<time>.tar.gz``.
3. Restore: the tarball unpacked into a fresh folder, the dump restored with
   ``pg_restore`` into a fresh database.
4. Compare, per table, the row count and an MD5 of all rows in a fixed order, and per file
   of the data folder its SHA-256; then run ``audit_verify`` on the restored copy (its
   own database and data folder). A table is printed; exit 0 when everything matches, 1
   otherwise, 2 when a step failed.

Scratch databases and folders are removed at the end (``--keep`` keeps them and prints
where they are). The backup itself is kept only with ``--backup-dir``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
# Regenerated on start (collectstatic), not part of a backup.
SKIP_DIRS = {"static"}


class DrillError(Exception):
    """A step failed (a command's error output is in the message)."""


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(server_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


def _run(command: Sequence[str], *, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DrillError(
            f"{command[0]} {command[1] if len(command) > 1 else ''} failed:\n"
            f"{done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


def _manage(args: Sequence[str], *, url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ONESTOP_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "onestop.config.settings",
    }
    for name in ("ONESTOP_SEAL_KEYS_DIR", "ONESTOP_AUDIT_ANCHOR_FILE"):
        env.pop(name, None)  # the drill's copies live in its data folders
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _tables(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
    return [str(r[0]) for r in rows]


def table_figures(url: str) -> dict[str, tuple[int, str]]:
    """Per table: (rows, MD5 of every row's text in sorted order)."""
    import psycopg
    from psycopg import sql

    figures: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url) as conn:
        for table in _tables(url):
            query = sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '')"
                " FROM {} AS t"
            ).format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            assert row is not None
            figures[table] = (int(row[0]), str(row[1]))
    return figures


def folder_figures(folder: Path) -> dict[str, str]:
    """Per file of the data folder (relative path): SHA-256 of its bytes."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.parts[0] in SKIP_DIRS or path.name == ".lock":
            continue
        found[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class DrillResult:
    tables: list[tuple[str, int, int, bool]]  # table, rows before, rows after, same content
    files: tuple[int, int]  # files in the backup's folder, files restored identical
    file_problems: list[str]
    audit_ok: bool
    audit_output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            all(before == after and same for _, before, after, same in self.tables)
            and not self.file_problems
            and self.audit_ok
        )


def backup(source_url: str, data_dir: Path, target: Path) -> Path:
    """The dump and the data folder in one tarball under ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dump = target / f"onestop-{stamp}.dump"
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source_url])
    tarball = target / f"onestop-backup-{stamp}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(dump, arcname="database.dump")
        tar.add(
            data_dir,
            arcname="data",
            filter=lambda info: (
                None
                if Path(info.name).parts[1:2] and Path(info.name).parts[1] in SKIP_DIRS
                else info
            ),
        )
    dump.unlink()
    os.chmod(tarball, 0o600)
    return tarball


def restore(tarball: Path, target_url: str, folder: Path) -> Path:
    """Unpack the tarball into ``folder`` and restore the dump into ``target_url`` (an
    empty database). Returns the restored data folder."""
    with tarfile.open(tarball) as tar:
        tar.extractall(folder, filter="data")
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={target_url}",
            str(folder / "database.dump"),
        ]
    )
    return folder / "data"


def drill(
    *,
    server_url: str,
    source_url: str | None,
    data_dir: Path | None,
    work: Path,
    backup_dir: Path | None,
    out: TextIO,
) -> DrillResult:
    started = time.monotonic()
    token = secrets.token_hex(4)
    created: list[str] = []
    try:
        if source_url is None:
            name = f"onestop_drill_src_{token}"
            _admin(server_url, f'CREATE DATABASE "{name}"')
            created.append(name)
            source_url = _with_database(server_url, name)
            data_dir = work / "source-data"
            out.write(f"准备演示库 {name}（迁移、演示数据、审计锚点）…\n")
            for step in (["migrate", "--no-input"], ["seed_demo"], ["audit_anchor"]):
                done = _manage(step, url=source_url, data_dir=data_dir)
                if done.returncode != 0:
                    raise DrillError(f"manage.py {step[0]} failed:\n{done.stderr.strip()}")
        assert data_dir is not None
        before_tables = table_figures(source_url)
        before_files = folder_figures(data_dir)

        out.write("备份：pg_dump（custom 格式）+ 数据目录 → 压缩包…\n")
        tarball = backup(source_url, data_dir, backup_dir or work / "backup")
        out.write(f"  {tarball}（{tarball.stat().st_size // 1024} KB）\n")

        name = f"onestop_drill_dst_{token}"
        _admin(server_url, f'CREATE DATABASE "{name}"')
        created.append(name)
        target_url = _with_database(server_url, name)
        out.write(f"恢复到新库 {name} 和新目录…\n")
        restored = restore(tarball, target_url, work / "restored")

        after_tables = table_figures(target_url)
        after_files = folder_figures(restored)
        tables = [
            (
                table,
                before_tables[table][0] if table in before_tables else -1,
                after_tables[table][0] if table in after_tables else -1,
                before_tables.get(table, (0, "-"))[1] == after_tables.get(table, (0, "?"))[1],
            )
            for table in sorted(set(before_tables) | set(after_tables))
        ]
        file_problems = [
            f"{path}: {'缺失' if path not in after_files else '内容不同'}"
            for path, digest in before_files.items()
            if after_files.get(path) != digest
        ]
        same_files = len(before_files) - len(file_problems)
        checked = _manage(["audit_verify"], url=target_url, data_dir=restored)
        return DrillResult(
            tables=tables,
            files=(len(before_files), same_files),
            file_problems=file_problems,
            audit_ok=checked.returncode == 0,
            audit_output=(checked.stdout + checked.stderr).strip(),
            seconds=time.monotonic() - started,
        )
    finally:
        for name in created:
            _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(result: DrillResult, out: TextIO) -> None:
    width = max(len(t[0]) for t in result.tables) if result.tables else 10
    out.write(f"\n{'表 table':<{width}}  {'原库行数':>8}  {'恢复后行数':>10}  校验和\n")
    for table, before, after, same in result.tables:
        mark = "一致" if before == after and same else "不一致 ✗"
        out.write(f"{table:<{width}}  {before:>10}  {after:>12}  {mark}\n")
    total_before = sum(t[1] for t in result.tables)
    total_after = sum(t[2] for t in result.tables)
    out.write(f"{'合计 total':<{width}}  {total_before:>10}  {total_after:>12}\n\n")
    files, identical = result.files
    out.write(
        f"数据目录文件（密钥、加密附件、签章密钥、审计锚点）：{files} 个，一致 {identical} 个\n"
    )
    for problem in result.file_problems:
        out.write(f"  ✗ {problem}\n")
    out.write("恢复后的审计核验（audit_verify）：\n")
    out.write("".join(f"  {line}\n" for line in result.audit_output.splitlines()))
    verdict = "通过：行数、校验和、文件和审计链全部一致" if result.ok else "未通过：见上表"
    out.write(f"\n演练结果：{verdict}（用时 {result.seconds:.0f} 秒）\n")


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="restore_drill", description="Back up, restore elsewhere, compare and verify."
    )
    parser.add_argument(
        "--server-url",
        default=os.environ.get("ONESTOP_DRILL_SERVER_URL") or DEFAULT_SERVER,
        help="a PostgreSQL database to create scratch ones from",
    )
    parser.add_argument("--source-url", help="back up this database instead of a demo one")
    parser.add_argument("--data-dir", help="the data folder of --source-url")
    parser.add_argument("--backup-dir", help="keep the backup tarball in this folder")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    if args.source_url and not args.data_dir:
        parser.error("--source-url needs --data-dir (its keys and uploads)")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        out.write("restore_drill: pg_dump/pg_restore not found (install the PostgreSQL client)\n")
        return 2
    work = Path(tempfile.mkdtemp(prefix="onestop-drill-"))
    try:
        result = drill(
            server_url=args.server_url,
            source_url=args.source_url,
            data_dir=Path(args.data_dir).resolve() if args.data_dir else None,
            work=work,
            backup_dir=Path(args.backup_dir).resolve() if args.backup_dir else None,
            out=out,
        )
    except (DrillError, OSError) as exc:
        out.write(f"restore_drill: {exc}\n")
        return 2
    except Exception as exc:  # e.g. the server cannot be reached: one line, no traceback
        out.write(f"restore_drill: {type(exc).__name__}: {exc}\n")
        return 2
    finally:
        if args.keep:
            out.write(f"scratch folder kept: {work}\n")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(result, out)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
