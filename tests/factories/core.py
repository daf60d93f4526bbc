"""Factories for the kernel (audit trail) and the by-model lookup the contract tests use."""

import factory
from django.contrib.contenttypes.models import ContentType
from factory.django import DjangoModelFactory

from accounts.models import User
from core.models import AuditEntry

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
