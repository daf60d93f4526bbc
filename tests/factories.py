"""factory_boy factories: one per model; the contract tests find them by model."""

import factory
from django.contrib.contenttypes.models import ContentType
from factory.django import DjangoModelFactory

from accounts.models import ApiToken, LoginAttempt, User
from core.models import AuditEntry


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    timezone = "Europe/Lisbon"
    language = "pt-br"
    avatar_url = factory.Sequence(lambda n: f"https://cdn.example.com/avatars/{n}.png")
    preferences = factory.Dict({"theme": "dark"})
    metadata = factory.Dict({"source": "factory"})
    password = factory.django.Password("correct horse battery staple")


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


class LoginAttemptFactory(DjangoModelFactory):
    class Meta:
        model = LoginAttempt

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email)
    ip_address = "198.51.100.23"
    user_agent = "Mozilla/5.0 (X11; Linux x86_64)"
    channel = LoginAttempt.Channel.API
    success = False
    reason = LoginAttempt.Reason.BAD_CREDENTIALS


class ApiTokenFactory(DjangoModelFactory):
    """Tokens only exist through knox's manager, which hashes the raw value."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    ip_address = "198.51.100.40"
    user_agent = "synapscale-cli/1.0"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        token, raw = model_class.objects.create(**kwargs)
        token.raw_token = raw
        return token


def _all_factories(cls=DjangoModelFactory):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_factories(sub)


def factory_for(model):
    """The factory for ``model``; a resource without one fails the contract tests."""
    for candidate in _all_factories():
        if candidate._meta.model is model:
            return candidate
    raise LookupError(f"No factory for {model._meta.label}: add one to tests/factories.py")
from tests.factories_reports import *  # noqa: E402, F403  (registers them)
from tests.factories_workspaces import *  # noqa: E402, F403  (registers them)
