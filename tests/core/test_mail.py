"""Development email: one .eml file per message and one log line, not the MIME dump."""

import email
import logging
import os
import subprocess
import sys

from django.core import mail
from django.core.mail import EmailMessage

BACKEND = "core.mail.FolderEmailBackend"


def test_each_message_becomes_an_eml_file_and_one_line(settings, tmp_path, caplog):
    settings.EMAIL_BACKEND = BACKEND
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    report = EmailMessage("Monthly sales / Q1: 100%", "See the attached report.",
                          "reports@example.com", ["ana@example.com", "bo@example.com"])
    report.attach("sales.csv", "state,total\nSP,10\n" * 2000, "text/csv")
    reminder = EmailMessage("Monthly sales / Q1: 100%", "Same subject, second message.",
                            "reports@example.com", ["cy@example.com"])

    with caplog.at_level(logging.INFO, logger="core.mail"):
        assert mail.get_connection().send_messages([report, reminder]) == 2

    files = sorted((tmp_path / "mail").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    assert all("monthly-sales-q1-100" in f.name for f in files)  # a safe file name
    first = email.message_from_bytes(files[0].read_bytes())
    assert first["Subject"] == "Monthly sales / Q1: 100%"
    assert first["To"] == "ana@example.com, bo@example.com"
    [attachment] = [p for p in first.walk() if p.get_filename() == "sales.csv"]
    assert attachment.get_payload(decode=True).startswith(b"state,total\nSP,10\n")

    lines = [r.getMessage() for r in caplog.records if r.name == "core.mail"]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith('mail to ana@example.com, bo@example.com: '
                               '"Monthly sales / Q1: 100%" (1 attachment) -> ')
    assert lines[0].endswith(files[0].name) and lines[1].endswith(files[1].name)
    assert "base64" not in caplog.text and "SP,10" not in caplog.text


def test_a_message_without_recipients_writes_nothing(settings, tmp_path):
    settings.EMAIL_BACKEND = BACKEND
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    assert mail.get_connection().send_messages([EmailMessage("x", "y", "a@example.com")]) == 0
    assert not (tmp_path / "mail").exists()


def test_debug_settings_use_it_and_production_keeps_the_configured_backend(tmp_path):
    def backend(debug: str) -> str:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_EMAIL_BACKEND"}
        env.update(DJANGO_DEBUG=debug, SYNAPSCALE_VAR_DIR=str(tmp_path))
        code = "import config.settings.base as s; print(s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)"
        return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    assert backend("true") == f"{BACKEND} {tmp_path / 'mail'}"
    assert backend("false").startswith("django.core.mail.backends.console.EmailBackend")
