"""The committed openapi.yaml is what the code generates, on whichever database runs."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    committed = Path(settings.BASE_DIR) / "openapi.yaml"
    assert generated.read_text() == committed.read_text(), "run `make schema`"
