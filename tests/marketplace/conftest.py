"""Shared marketplace fixtures: a workspace with a member of each role, a free and a
paid component with versions, and clients."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from marketplace.services.catalogue import version_publish
from tests import factories as f
from tests.factories.marketplace import MarketplaceComponentFactory, workflow_payload

API = "/api/v1/marketplace"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def member(workspace, role: str):
    return f.MembershipFactory(workspace=workspace, role=role).user


def catalogue_staff():
    """Staff with the marketplace's model permissions (not a superuser)."""
    user = f.UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="marketplace"))
    return user


@pytest.fixture
def ws(db):
    return f.WorkspaceFactory()


@pytest.fixture
def roles(ws):
    return {role: member(ws, role) for role in ("owner", "admin", "member", "viewer")}


def component_with(versions=("1.0.0",), **fields):
    component = MarketplaceComponentFactory(**fields)
    for number in versions:
        version_publish(component=component, version=number,
                        payload=workflow_payload(component.name, greeting=f"hi {number}"))
    return component


@pytest.fixture
def free(db):
    return component_with(name="Free greeter")


@pytest.fixture
def paid(db):
    return component_with(name="Paid greeter", price=2500, currency="USD")
