"""``manage.py import_csv``: the same pipeline from a terminal."""

import io

import pytest
from django.core.management import CommandError, call_command

from analytics.models import Client, SaleRecord
from tests.factories import WorkspaceFactory

from .helpers import FIXTURES, csv_file, sale

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command("import_csv", *args, stdout=out)
    return out.getvalue()


def test_both_predecessor_files_load_and_a_second_run_is_a_no_op():
    workspace = WorkspaceFactory(slug="steel")
    args = ["--workspace", "steel", "--inventory", str(FIXTURES / "estoque 1.csv"),
            "--sales", str(FIXTURES / "faturamento 1.csv")]
    out = run(*args)
    assert "inventory succeeded: Loaded 8 of 8 rows" in out
    assert "sales succeeded: Loaded 40 of 40 rows" in out
    again = run(*args)
    assert again.count("duplicate") == 2 and "nothing was loaded" in again
    assert SaleRecord.objects.filter(workspace=workspace).count() == 40
    assert Client.objects.filter(workspace=workspace, name="Cliente 1").count() == 1


def test_a_bad_file_fails_with_its_lines_and_loads_nothing(tmp_path):
    workspace = WorkspaceFactory(slug="steel")
    path = tmp_path / "faturamento.csv"
    path.write_bytes(csv_file("sales", [sale(), sale(net_weight_tonnes="-2")]).read())
    out = io.StringIO()
    with pytest.raises(CommandError, match="Import failed"):
        call_command("import_csv", "--workspace", "steel", "--sales", str(path), stdout=out)
    assert "line 3 zs_peso_liquido: '-2' is negative" in out.getvalue()
    assert not SaleRecord.objects.filter(workspace=workspace).exists()


def test_unknown_workspace_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        run("--workspace", "nope", "--sales", "x.csv")
    WorkspaceFactory(slug="steel")
    with pytest.raises(CommandError, match="Give --inventory, --sales or both"):
        run("--workspace", "steel")
    with pytest.raises(CommandError, match="is not a readable file"):
        run("--workspace", "steel", "--sales", str(tmp_path / "missing.csv"))
