"""The SQLite path of core.backups: online backup API copy, restore into an empty file, recount."""

import sqlite3
from types import SimpleNamespace

import pytest

from core import backups


@pytest.fixture
def sqlite_source(tmp_path, monkeypatch, settings):
    path = tmp_path / "live.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE thing (id INTEGER PRIMARY KEY, name TEXT);"
                       "INSERT INTO thing (name) VALUES ('a'), ('b'), ('c');"
                       "CREATE TABLE empty_one (id INTEGER PRIMARY KEY);")
    conn.commit()
    conn.close()
    # Only this module's view of the connections changes: the test database stays untouched.
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    monkeypatch.setattr(backups, "connections", {"default": SimpleNamespace(settings_dict=db)})
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    (settings.MEDIA_ROOT / "doc.txt").write_bytes(b"hello")
    return path


def test_sqlite_backup_restores_into_an_empty_file_with_same_rows(sqlite_source, tmp_path,
                                                                   settings):
    folder = backups.backup(tmp_path / "backups")
    assert {p.name for p in folder.iterdir()} == {"db.sqlite3", "media.tar.gz", "manifest.json"}
    assert backups.load_manifest(folder)["tables"] == {"empty_one": 0, "thing": 3}

    settings.MEDIA_ROOT = tmp_path / "restored-media"
    target = tmp_path / "restored.sqlite3"
    report = backups.restore(folder, database_url=f"sqlite:///{target}")

    assert report.ok
    assert [(c.table, c.expected, c.actual) for c in report.tables] == [
        ("empty_one", 0, 0), ("thing", 3, 3)]
    names = sqlite3.connect(target).execute("SELECT name FROM thing ORDER BY id").fetchall()
    assert names == [("a",), ("b",), ("c",)]
    assert (settings.MEDIA_ROOT / "doc.txt").read_bytes() == b"hello"


def test_sqlite_restore_refuses_a_file_with_tables(sqlite_source, tmp_path):
    folder = backups.backup(tmp_path / "backups")
    with pytest.raises(backups.BackupError, match=r"already has 2 table\(s\)"):
        backups.restore(folder, database_url=f"sqlite:///{sqlite_source}", force=True)
