"""Demo users for ``manage.py seed_demo`` (idempotent: found by email, never duplicated)."""

import os

from .models import User, UserVariable
from .services import variables

DEMO_STAFF_EMAIL = "admin@synapscale.local"
DEMO_PASSWORD_ENV = "SYNAPSCALE_DEMO_PASSWORD"
DEFAULT_DEMO_PASSWORD = "synapscale-demo"  # local demo only; seed_demo refuses DEBUG=False


def seed(out) -> None:
    password = os.environ.get(DEMO_PASSWORD_ENV, DEFAULT_DEMO_PASSWORD)
    staff, created = User.objects.get_or_create(
        email=DEMO_STAFF_EMAIL,
        defaults={"is_staff": True, "is_superuser": True, "first_name": "Demo",
                  "last_name": "Staff"},
    )
    if created:
        staff.set_password(password)
        staff.save(update_fields=["password"])
    for n, (first, last) in enumerate([("Ana", "Souza"), ("Bruno", "Lima")], start=1):
        User.objects.get_or_create(
            email=f"client{n}@synapscale.local",
            defaults={"first_name": first, "last_name": last, "timezone": "America/Sao_Paulo",
                      "language": "pt-br"},
        )
    _seed_variables(User.objects.get(email="client1@synapscale.local"))
    if staff.check_password(password):
        out.write(f"Demo staff user: {DEMO_STAFF_EMAIL} / {password}")
    else:
        out.write(f"Demo staff user: {DEMO_STAFF_EMAIL} (its password was changed; reset it with "
                  f"`manage.py changepassword {DEMO_STAFF_EMAIL}`)")


def _seed_variables(user: User) -> None:
    """A few variables for the first demo client (one secret) and a flag override."""
    from core.models import FeatureFlag, FlagOverride

    demo = [("REGION", "sa-east-1", "Where the client's data lives", False),
            ("CRM_BASE_URL", "https://crm.example.com/api", "The client's CRM", False),
            ("CRM_TOKEN", "demo-token-not-a-real-secret", "Used as {{ vars.CRM_TOKEN }}", True)]
    for name, value, description, secret in demo:
        if not UserVariable.objects.filter(user=user, name=name).exists():
            variables.variable_create(user=user, name=name, value=value,
                                      description=description, is_secret=secret)
    flag = FeatureFlag.objects.filter(key="agent-voice").first()
    if flag is not None:
        FlagOverride.objects.get_or_create(flag=flag, user=user, defaults={
            "enabled": True, "note": "Demo beta tester"})
