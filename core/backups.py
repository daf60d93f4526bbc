"""Backups that restore: a database dump, a media archive and a manifest that proves the restore.

A backup is one folder named by UTC time (``20261129T090000Z``) holding ``db.dump``
(``pg_dump --format=custom``) or ``db.sqlite3`` (sqlite3's online backup API), ``media.tar.gz``
and ``manifest.json`` (row count of every table, sha256 of every media file).  Restoring goes
into an *empty* database only, so a restore can never silently merge with live data, and ends by
recounting every table against the manifest.  Generic on purpose: core knows no app's tables.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import environ
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

FOLDER_RE = re.compile(r"^\d{8}T\d{6}Z$")
MANIFEST = "manifest.json"
MEDIA_ARCHIVE = "media.tar.gz"
PG_DUMP = "db.dump"
SQLITE_DUMP = "db.sqlite3"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one line meant for the operator."""


@dataclass(frozen=True)
class TableCheck:
    table: str
    expected: int | None
    actual: int | None

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class RestoreReport:
    tables: list[TableCheck]
    media_files: int
    bad_media: list[str]

    @property
    def ok(self) -> bool:
        return not self.bad_media and all(c.ok for c in self.tables)


def default_dir() -> Path:
    return Path(getattr(settings, "BACKUP_DIR", Path(settings.VAR_DIR) / "backups"))


def _vendor(db: dict) -> str:
    engine = db["ENGINE"]
    if engine.endswith("postgresql"):
        return "postgresql"
    if engine.endswith("sqlite3"):
        return "sqlite"
    raise BackupError(f"unsupported database engine {engine!r}: only PostgreSQL and SQLite")


def _pg_env(db: dict) -> dict:
    # The password travels in the environment: on the command line any local user could read it.
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _run(argv: list[str], env: dict) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} not found on PATH; install the PostgreSQL client tools")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackupError(f"{argv[0]} failed (exit {done.returncode}): {detail}")


def _pg_connect(db: dict):
    import psycopg

    return psycopg.connect(dbname=db["NAME"], host=db.get("HOST") or None,
                           port=db.get("PORT") or None, user=db.get("USER") or None,
                           password=db.get("PASSWORD") or None, autocommit=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pg_counts(db: dict) -> dict[str, int]:
    with _pg_connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        return {t: conn.execute(f"SELECT COUNT(*) FROM {_quote(t)}").fetchone()[0] for t in tables}


def _sqlite_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        return {t: conn.execute(f"SELECT COUNT(*) FROM {_quote(t)}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def _counts(db: dict) -> dict[str, int]:
    return _pg_counts(db) if _vendor(db) == "postgresql" else _sqlite_counts(Path(db["NAME"]))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): _sha256(p)
            for p in sorted(root.rglob("*")) if p.is_file()}


def backup(dest: Path | None = None, keep: int | None = None,
           alias: str = DEFAULT_DB_ALIAS) -> Path:
    """Write one backup folder under ``dest``, prune to the newest ``keep``; return the folder."""
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1")
    db = connections[alias].settings_dict
    vendor = _vendor(db)
    dest = Path(dest) if dest else default_dir()
    folder = dest / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError as exc:
        raise BackupError(f"{folder} already exists; wait a second and run again") from exc
    except OSError as exc:
        raise BackupError(f"cannot create {folder}: {exc.strerror}") from exc
    try:
        # Counts first: a row added during the dump then only makes the dump larger, never
        # makes the manifest promise a row the dump lacks.
        counts = _counts(db)
        if vendor == "postgresql":
            _run(["pg_dump", "--format=custom", f"--file={folder / PG_DUMP}", db["NAME"]],
                 _pg_env(db))
        else:
            _sqlite_copy(Path(db["NAME"]), folder / SQLITE_DUMP)
        media_root = Path(settings.MEDIA_ROOT)
        media = _media_files(media_root)
        with tarfile.open(folder / MEDIA_ARCHIVE, "w:gz") as tar:
            for rel in media:
                tar.add(media_root / rel, arcname=rel)
        manifest = {"created_at": datetime.now(UTC).isoformat(), "vendor": vendor,
                    "database": db["NAME"] if vendor == "postgresql" else Path(db["NAME"]).name,
                    "tables": counts, "media": media}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if keep is not None:
        prune(dest, keep)
    return folder


def _sqlite_copy(source: Path, target: Path) -> None:
    # The online backup API copies a consistent snapshot while other connections keep writing.
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def prune(dest: Path, keep: int) -> list[Path]:
    """Delete the oldest backup folders beyond ``keep``; only our timestamped names are touched."""
    folders = sorted(p for p in Path(dest).iterdir() if p.is_dir() and FOLDER_RE.match(p.name))
    doomed = folders[:-keep] if len(folders) > keep else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def load_manifest(folder: Path) -> dict:
    folder = Path(folder)
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder")
    try:
        return json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{folder} has no {MANIFEST}; is it a backup folder?") from exc
    except json.JSONDecodeError as exc:
        raise BackupError(f"{folder / MANIFEST} is not valid JSON: {exc.msg}") from exc


def target_db(database_url: str | None, alias: str = DEFAULT_DB_ALIAS) -> dict:
    if not database_url:
        return dict(connections[alias].settings_dict)
    try:
        return environ.Env.db_url_config(database_url)
    except Exception as exc:  # the parser raises several types for a malformed URL
        raise BackupError(f"cannot parse --database-url: {exc}") from exc


def restore(folder: Path, database_url: str | None = None, force: bool = False,
            alias: str = DEFAULT_DB_ALIAS) -> "RestoreReport":
    """Restore ``folder`` into an empty database and MEDIA_ROOT; return what was checked."""
    folder = Path(folder)
    manifest = load_manifest(folder)
    db = target_db(database_url, alias)
    vendor = _vendor(db)
    if vendor != manifest.get("vendor"):
        raise BackupError(f"the backup is from {manifest.get('vendor')}, the target is {vendor}")
    dump = folder / (PG_DUMP if vendor == "postgresql" else SQLITE_DUMP)
    if not dump.is_file():
        raise BackupError(f"{dump} is missing")
    try:
        existing = _counts(db)
    except Exception as exc:  # driver errors differ per engine; the operator needs the one line
        raise BackupError(f"cannot reach the target database: {str(exc).strip()}") from exc
    if existing:
        raise BackupError(f"the target database {db['NAME']} already has {len(existing)} "
                          f"table(s); restore only into an empty database")
    media_root = Path(settings.MEDIA_ROOT)
    with tarfile.open(folder / MEDIA_ARCHIVE, "r:gz") as tar:
        members = tar.getmembers()
        clashes = [m.name for m in members if m.isfile() and (media_root / m.name).exists()]
        if clashes and not force:
            raise BackupError(f"{len(clashes)} media file(s) already exist in {media_root} "
                              f"(e.g. {clashes[0]}); pass --force to overwrite")
        if vendor == "postgresql":
            _run(["pg_restore", "--no-owner", "--no-acl", "--exit-on-error",
                  f"--dbname={db['NAME']}", str(dump)], _pg_env(db))
        else:
            _sqlite_copy(dump, Path(db["NAME"]))
        media_root.mkdir(parents=True, exist_ok=True)
        tar.extractall(media_root, filter="data")
    actual = _counts(db)
    expected = manifest.get("tables", {})
    tables = [TableCheck(t, expected.get(t), actual.get(t))
              for t in sorted(set(expected) | set(actual))]
    bad_media = sorted(rel for rel, digest in manifest.get("media", {}).items()
                       if not (media_root / rel).is_file() or _sha256(media_root / rel) != digest)
    return RestoreReport(tables, len(manifest.get("media", {})), bad_media)
