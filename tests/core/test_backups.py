"""manage.py backup / restore: a PostgreSQL round trip into a scratch database, and the refusals."""

import json
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core import backups
from tests.factories import FileFactory, WorkspaceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _admin_conn():
    db = connection.settings_dict
    return psycopg.connect(dbname="postgres", host=db.get("HOST") or None,
                           port=db.get("PORT") or None, user=db.get("USER") or None,
                           password=db.get("PASSWORD") or None, autocommit=True)


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


@pytest.fixture
def scratch_db():
    name = f"restore_{uuid.uuid4().hex[:12]}"
    with _admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with _admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _counts(url_name: str | None = None) -> dict[str, int]:
    db = dict(connection.settings_dict)
    if url_name:
        db["NAME"] = url_name
    return backups._pg_counts(db)


def test_backup_then_restore_into_empty_database_gives_same_rows_and_media(
        settings, media, tmp_path, scratch_db, capsys):
    workspace = WorkspaceFactory()
    FileFactory.create_batch(2, workspace=workspace)
    (media / "nested").mkdir()
    (media / "nested" / "raw.bin").write_bytes(bytes(range(256)))
    before_media = _files(media)
    before_rows = _counts()

    call_command("backup", dir=tmp_path / "backups")
    [folder] = list((tmp_path / "backups").iterdir())
    assert backups.FOLDER_RE.match(folder.name)
    assert {p.name for p in folder.iterdir()} == {"db.dump", "media.tar.gz", "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tables"] == before_rows
    assert manifest["tables"]["workspaces_file"] == 2
    assert set(manifest["media"]) == set(before_media)

    settings.MEDIA_ROOT = tmp_path / "restored-media"
    capsys.readouterr()
    call_command("restore", str(folder), database_url=_url(scratch_db))
    out = capsys.readouterr().out

    assert _counts(scratch_db) == before_rows
    assert _files(settings.MEDIA_ROOT) == before_media
    assert "workspaces_file" in out and "restore verified against the manifest" in out
    assert "MISMATCH" not in out


def test_restore_refuses_a_database_that_has_tables(media, tmp_path):
    folder = backups.backup(tmp_path)
    refusal = r"already has .* table\(s\); restore only into an empty"
    with pytest.raises(CommandError, match=refusal):
        call_command("restore", str(folder))


def test_restore_refuses_to_overwrite_media_without_force(media, tmp_path, scratch_db):
    (media / "keep.txt").write_bytes(b"original")
    folder = backups.backup(tmp_path)
    with pytest.raises(CommandError, match=r"1 media file\(s\) already exist .*--force"):
        call_command("restore", str(folder), database_url=_url(scratch_db))
    assert _counts(scratch_db) == {}  # refused before touching the database


def test_restore_of_a_folder_that_is_not_a_backup_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"has no manifest\.json"):
        call_command("restore", str(tmp_path))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("restore", str(tmp_path / "nope"))


def test_missing_pg_dump_is_a_clear_error(media, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(CommandError, match="pg_dump not found on PATH"):
        call_command("backup", dir=tmp_path / "b")
    assert list((tmp_path / "b").iterdir()) == []  # no half-written folder left behind


def test_keep_deletes_the_oldest_backups_beyond_n(media, tmp_path):
    dest = tmp_path / "backups"
    for name in ("20200101T000000Z", "20210101T000000Z", "20220101T000000Z", "unrelated"):
        (dest / name).mkdir(parents=True)
    call_command("backup", dir=dest, keep=2)
    names = sorted(p.name for p in dest.iterdir())
    assert names[0] == "20220101T000000Z" and names[-1] == "unrelated" and len(names) == 3
