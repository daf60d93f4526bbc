"""Factories for accounts: users, groups, sign-in attempts, API tokens and OTP devices."""

import factory
from django.contrib.auth.models import Group
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from factory.django import DjangoModelFactory

from accounts.models import ApiToken, LoginAttempt, User, UserVariable


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


class GroupFactory(DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Group {n}")


class TOTPDeviceFactory(DjangoModelFactory):
    """A confirmed authenticator app (the key is django-otp's random default)."""

    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Authenticator"
    confirmed = True


class StaticDeviceFactory(DjangoModelFactory):
    """A confirmed set of backup codes (no tokens attached)."""

    class Meta:
        model = StaticDevice

    user = factory.SubFactory(UserFactory)
    name = "Backup codes"
    confirmed = True


class UserVariableFactory(DjangoModelFactory):
    """A plain variable; ``UserVariableFactory(secret="value")`` makes a secret one,
    encrypted as the service would."""

    class Meta:
        model = UserVariable

    class Params:
        secret = None

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"VAR_{n}")
    value = factory.LazyAttribute(lambda o: "" if o.secret else f"value-{o.name.lower()}")
    description = "Made by a factory"
    is_secret = factory.LazyAttribute(lambda o: bool(o.secret))
    ciphertext = factory.LazyAttribute(lambda o: _encrypt(o.secret) if o.secret else "")


def _encrypt(value: str) -> str:
    from workspaces.services import vault

    return vault.encrypt(value)
