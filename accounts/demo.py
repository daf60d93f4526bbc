"""Demo users for ``manage.py seed_demo`` (idempotent: found by email, never duplicated)."""

import os

from .models import User

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
    if staff.check_password(password):
        out.write(f"Demo staff user: {DEMO_STAFF_EMAIL} / {password}")
    else:
        out.write(f"Demo staff user: {DEMO_STAFF_EMAIL} (its password was changed; reset it with "
                  f"`manage.py changepassword {DEMO_STAFF_EMAIL}`)")
