"""Factories for the kernel (audit trail, live settings, feature flags) and the by-model
lookup the contract tests use."""

import factory
from django.contrib.contenttypes.models import ContentType
from factory.django import DjangoModelFactory

from accounts.models import User
from core.models import AuditEntry, FeatureFlag, FlagOverride, SystemSetting

from .accounts import UserFactory


class AuditEntryFactory(DjangoModelFactory):
    class Meta:
        model = AuditEntry

    actor = factory.SubFactory(UserFactory)
    actor_repr = factory.LazyAttribute(lambda o: o.actor.email)
    ip_address = "203.0.113.7"
    request_id = factory.Faker("hexify", text="^" * 32)
    source = AuditEntry.Source.API
    action = AuditEntry.Action.UPDATE
    target_type = factory.LazyFunction(lambda: ContentType.objects.get_for_model(User))
    target_id = factory.Sequence(str)
    target_repr = factory.Sequence(lambda n: f"user{n}@example.com")
    before = factory.Dict({"first_name": "Ana"})
    after = factory.Dict({"first_name": "Ana Maria"})


class SystemSettingFactory(DjangoModelFactory):
    """A stored row under an undeclared key (declared keys are unique: use
    ``core.live_settings.setting_set`` to change one in a test)."""

    class Meta:
        model = SystemSetting

    key = factory.Sequence(lambda n: f"factory.setting-{n}")
    value = factory.Sequence(lambda n: {"n": n})


class FeatureFlagFactory(DjangoModelFactory):
    class Meta:
        model = FeatureFlag

    key = factory.Sequence(lambda n: f"flag-{n}")
    description = "A flag made by a factory"
    enabled = True
    rollout_percent = 100


class FlagOverrideFactory(DjangoModelFactory):
    """A user's override by default; pass ``workspace=..., user=None`` for a workspace's."""

    class Meta:
        model = FlagOverride

    flag = factory.SubFactory(FeatureFlagFactory)
    user = factory.SubFactory(UserFactory)
    workspace = None
    enabled = True
    note = "beta tester"


def _all_factories(cls=DjangoModelFactory):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_factories(sub)


def factory_for(model):
    """The factory for ``model``; a resource without one fails the contract tests."""
    for candidate in _all_factories():
        if candidate._meta.model is model:
            return candidate
    raise LookupError(f"No factory for {model._meta.label}: add one to tests/factories/<app>.py")
