"""Another workspace's purchases, installations and downloads are out of reach."""

import pytest

from marketplace.services.installs import component_install
from tests import factories as f
from tests.factories.marketplace import (
    ComponentDownloadFactory,
    ComponentInstallationFactory,
    ComponentPurchaseFactory,
)

from .conftest import API, client_for, member

pytestmark = pytest.mark.django_db


def test_other_tenants_see_nothing_of_a_workspace(ws, roles, free):
    installation = component_install(workspace=ws, component=free, by=roles["member"])
    purchase = ComponentPurchaseFactory(workspace=ws)
    other = client_for(member(f.WorkspaceFactory(), "owner"))
    own = client_for(roles["viewer"])
    for path, pk in (("installations", installation.pk), ("purchases", purchase.pk),
                     ("downloads", installation.downloads.get().pk)):
        assert other.get(f"{API}/{path}/").json()["results"] == []
        assert other.get(f"{API}/{path}/{pk}/").status_code == 404
        assert [r["id"] for r in own.get(f"{API}/{path}/").json()["results"]] == [pk]
    answer = other.post(f"{API}/installations/{installation.pk}/upgrade/", {}, format="json")
    assert answer.status_code == 404


def test_factories_make_rows_of_one_workspace():
    installation = ComponentInstallationFactory()
    assert installation.workflow.workspace_id == installation.workspace_id
    assert installation.version.component_id == installation.component_id
    download = ComponentDownloadFactory()
    assert download.version.component_id == download.component_id
