"""Importing predecessor users with their password hashes, so they keep their passwords.

The CSV has a header row with ``email, name, password_hash, is_staff, created_at``.
Every line is checked before anything is written: one bad line loads nothing, and
each problem is reported with its line number.  Existing accounts (same email, any
case) are skipped, never overwritten, so a re-run changes nothing and a password
changed here since the first import is not put back.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import User

COLUMNS = ("email", "name", "password_hash", "is_staff", "created_at")
# Raw predecessor bcrypt: `$2b$12$` + 22 salt + 31 hash characters.
_RAW_BCRYPT = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}


@dataclass
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportResult:
    created: list[User] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def django_password(raw_hash: str) -> str:
    """The stored form of a predecessor hash; ``ValueError`` if no configured hasher knows it."""
    value = raw_hash.strip()
    if _RAW_BCRYPT.match(value):
        # Django's BCryptPasswordHasher stores `bcrypt$` + the library's own string.
        value = "bcrypt$" + value
    try:
        identify_hasher(value)
    except ValueError:
        raise ValueError("unknown password hash format") from None
    return value


def _created_at(text: str) -> datetime:
    text = text.strip()
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(f"bad date {text!r} (expected ISO 8601, e.g. 2024-03-01T10:00:00Z)")
        parsed = datetime.combine(day, time.min)
    # The predecessors stored UTC without a zone.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _staff(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"bad is_staff value {text!r} (expected true/false)")


def _user_from_row(row: dict) -> User:
    email = User.objects.normalize_email((row.get("email") or "").strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"bad email {email!r}") from None
    first, _, last = (row.get("name") or "").strip().partition(" ")
    user = User(email=email, first_name=first[:150], last_name=last.strip()[:150],
                is_staff=_staff(row.get("is_staff") or ""),
                password=django_password(row.get("password_hash") or ""),
                date_joined=_created_at(row.get("created_at") or ""))
    return user


def parse_users(stream) -> tuple[list[tuple[int, User]], list[LineError]]:
    """Read and check every line; returns (line number, unsaved user) pairs and errors."""
    reader = csv.DictReader(stream)
    missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
    if missing:
        return [], [LineError(1, f"missing columns: {', '.join(missing)}")]
    users, errors, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        try:
            user = _user_from_row(row)
        except ValueError as exc:
            errors.append(LineError(line, str(exc)))
            continue
        if user.email in seen:
            errors.append(LineError(line, f"duplicate email {user.email} (first on line "
                                          f"{seen[user.email]})"))
            continue
        seen[user.email] = line
        users.append((line, user))
    return users, errors


def users_import(*, stream) -> ImportResult:
    """Create the new users of the CSV in one transaction, or none if any line is bad."""
    rows, errors = parse_users(stream)
    result = ImportResult(errors=errors)
    if errors:
        return result
    with transaction.atomic():
        existing = set(User.objects.filter(email__in=[u.email for _, u in rows])
                       .values_list("email", flat=True))
        for line, user in rows:
            if user.email in existing or User.objects.filter(email__iexact=user.email).exists():
                result.skipped.append(user.email)
                continue
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as exc:
                result.errors.append(LineError(line, "; ".join(exc.messages)))
                continue
            user.save()
            result.created.append(user)
        if result.errors:
            transaction.set_rollback(True)
            result.created = []
    return result
