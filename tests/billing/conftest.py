"""Shared billing fixtures: the feature catalogue and a default issuing account."""

import pytest

from billing.services.catalogue import features_sync
from tests.factories import IssuingAccountFactory


@pytest.fixture
def features(db):
    """The Feature rows of billing.features, by key (a flushed database lacks them)."""
    from billing.models import Feature

    features_sync()
    return {f.key: f for f in Feature.objects.all()}


@pytest.fixture
def issuer(db):
    return IssuingAccountFactory(is_default=True, number_prefix="INV-")
