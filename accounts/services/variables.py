"""User variables: every write, the audited reveal, rotation, lookup for runs, import/export.

A secret variable's value is encrypted with the workspace vault's key ring (one key
ring, one rotation command: ``manage.py rotate_secrets`` calls ``variables_rotate``)
and kept only in ``ciphertext``; nothing here logs or returns it except
``variable_reveal``, which leaves a ``reveal`` entry in the audit trail.

Bulk import and export cover non-secret variables, as JSON or ``.env`` text.  An import
is all or nothing: every problem is reported with its line (``.env``) or item (JSON)
number and nothing is written unless there is none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import UserVariable
from core import audit
from core.models import AuditEntry
from workspaces.services import vault  # the one key ring for secrets at rest

FORMATS = ("json", "env")
MAX_IMPORT = 1000
_EDITABLE = ("name", "value", "description", "is_secret")


def _check_unique(user_id: int, name: str, exclude_pk: int | None = None) -> None:
    clash = UserVariable.objects.filter(user_id=user_id, name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": [f"You already have a variable named {name}."]})


MAX_VALUE = 20_000


def _store_value(variable: UserVariable, value: str) -> None:
    if len(value) > MAX_VALUE:
        raise ValidationError({"value": [f"At most {MAX_VALUE} characters."]})
    if variable.is_secret:
        variable.value, variable.ciphertext = "", vault.encrypt(value)
    else:
        variable.value, variable.ciphertext = value, ""


def variable_create(*, user, name: str, value: str = "", description: str = "",
                    is_secret: bool = False) -> UserVariable:
    variable = UserVariable(user=user, name=name, description=description, is_secret=is_secret)
    if is_secret and not value:
        raise ValidationError({"value": ["A secret variable needs a value."]})
    _store_value(variable, value)
    variable.full_clean(exclude=["ciphertext", "user"], validate_constraints=False)
    with transaction.atomic():
        _check_unique(variable.user_id, name)
        variable.save()
    return variable


def variable_update(*, variable: UserVariable, **changes) -> UserVariable:
    """Change any of name, value, description and is_secret.

    Making a secret plain needs a new value: the old one is never copied out of the
    ciphertext.  A secret's value is kept when ``value`` is not given.
    """
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    value = changes.pop("value", None)
    was_secret = variable.is_secret
    for name, new in changes.items():
        setattr(variable, name, new)
    if was_secret and not variable.is_secret and value is None:
        raise ValidationError({"value": ["Give a new value to make a secret variable plain; "
                                         "its secret value is never shown."]})
    if value is not None:
        if variable.is_secret and not value:
            raise ValidationError({"value": ["A secret variable needs a value."]})
        _store_value(variable, value)
    elif variable.is_secret and not was_secret:
        _store_value(variable, variable.value)  # the plain value becomes the secret
    variable.full_clean(exclude=["ciphertext", "user"], validate_constraints=False)
    with transaction.atomic():
        _check_unique(variable.user_id, variable.name, exclude_pk=variable.pk)
        variable.save()
    return variable


def variable_delete(*, variable: UserVariable) -> None:
    variable.delete()


def variable_value(variable: UserVariable) -> str:
    """The value, decrypted for secrets: for the run-time lookup, never for display."""
    return vault.decrypt(variable.ciphertext) if variable.is_secret else variable.value


def variable_reveal(*, variable: UserVariable) -> str:
    """A secret's value, read back on purpose: recorded in the audit trail (who, IP,
    request id from the request context) before it is returned."""
    value = variable_value(variable)
    audit.record(action=AuditEntry.Action.REVEAL, instance=variable, before=None,
                 after={"name": variable.name, "user": variable.user_id,
                        "is_secret": variable.is_secret})
    return value


def variables_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every secret variable under the newest key; returns how many."""
    ids = list(UserVariable.objects.filter(is_secret=True).order_by("id")
               .values_list("id", flat=True))
    done = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for variable in UserVariable.objects.select_for_update().filter(
                    id__in=ids[start:start + batch_size]):
                variable.ciphertext = vault.encrypt(vault.decrypt(variable.ciphertext))
                variable.save(update_fields=["ciphertext"])
                done += 1
    return done


# --- workflow runs -------------------------------------------------------------------------


def variable_lookup(user_id: int | None) -> Callable[[str], tuple[str, bool]]:
    """``name -> (value, is_secret)`` over one user's variables, for ``{{ vars.NAME }}``.

    Each variable is read (and decrypted) once per lookup; a missing one raises
    ``LookupError`` naming it.
    """
    found: dict[str, tuple[str, bool]] = {}

    def lookup(name: str) -> tuple[str, bool]:
        if name not in found:
            variable = (UserVariable.objects.filter(user_id=user_id, name=name).first()
                        if user_id is not None else None)
            if variable is None:
                whose = "the user this run belongs to" if user_id is not None else \
                    "this run (it belongs to no user)"
                raise LookupError(f"{name!r} is not a variable of {whose}.")
            found[name] = (variable_value(variable), variable.is_secret)
        return found[name]

    return lookup


# --- bulk import and export ----------------------------------------------------------------


@dataclass
class ImportLine:
    number: int
    name: str
    value: str
    description: str = ""


class ImportFailed(ValidationError):
    """The import's problems, ``{"line 3": [message, ...]}`` (``item N`` for JSON)."""


def _env_quote(value: str) -> str:
    if value and re.fullmatch(r"[A-Za-z0-9_./:@+,-]+", value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def variables_export(*, user, fmt: str = "json") -> str:
    """The user's non-secret variables as JSON (a list of name/value/description) or
    ``.env`` text; secrets are left out (not even their names' values exist here)."""
    rows = UserVariable.objects.filter(user=user, is_secret=False).order_by("name")
    if fmt == "json":
        return json.dumps([{"name": v.name, "value": v.value, "description": v.description}
                           for v in rows], ensure_ascii=False, indent=2)
    if fmt == "env":
        return "".join(f"{v.name}={_env_quote(v.value)}\n" for v in rows)
    raise ValidationError({"format": [f"Choose one of: {', '.join(FORMATS)}."]})


_ENV_LINE = re.compile(r"^(?:export\s+)?(?P<name>[^=\s]+)\s*=\s*(?P<value>.*)$")
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _env_value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)),
                      raw[1:-1])
    if raw[:1] in ("'", '"'):
        raise ValueError("the quote that opens the value is never closed.")
    return raw


def _parse_env(text: str, errors: dict) -> list[ImportLine]:
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line.strip())
        if not match:
            errors[f"line {number}"] = ["Expected NAME=value."]
            continue
        try:
            value = _env_value(match.group("value"))
        except ValueError as exc:
            errors[f"line {number}"] = [f"{match.group('name')}: {exc}"]
            continue
        lines.append(ImportLine(number, match.group("name"), value))
    return lines


def _parse_json(text: str, errors: dict) -> list[ImportLine]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ImportFailed({"text": [f"Not valid JSON: {exc}"]}) from None
    if isinstance(data, dict):
        data = [{"name": k, "value": v} for k, v in data.items()]
    if not isinstance(data, list):
        raise ImportFailed({"text": ['Expected a list of {"name", "value", "description"} '
                                     'or an object of NAME: value.']})
    lines = []
    for number, item in enumerate(data, start=1):
        where = f"item {number}"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            errors[where] = ['Expected {"name": ..., "value": ...}.']
            continue
        value, description = item.get("value", ""), item.get("description", "")
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not isinstance(description, str):
            errors[where] = [f"{item['name']}: the value and description must be text."]
            continue
        lines.append(ImportLine(number, item["name"], value, description))
    return lines


def variables_import(*, user, text: str, fmt: str = "env") -> dict[str, int]:
    """Create or update the user's non-secret variables from ``text``, all or nothing.

    Returns ``{"created": n, "updated": m}``; raises ``ImportFailed`` naming every bad
    line (or JSON item): a malformed line, a bad name or value, a name given twice, or
    the name of an existing secret variable (change those one at a time).
    """
    if fmt not in FORMATS:
        raise ImportFailed({"format": [f"Choose one of: {', '.join(FORMATS)}."]})
    errors: dict[str, list[str]] = {}
    lines = (_parse_json if fmt == "json" else _parse_env)(text, errors)
    unit = "item" if fmt == "json" else "line"
    if len(lines) > MAX_IMPORT:
        raise ImportFailed({"text": [f"At most {MAX_IMPORT} variables per import."]})
    existing = {v.name: v for v in UserVariable.objects.filter(
        user=user, name__in=[line.name for line in lines])}
    seen: dict[str, int] = {}
    planned: list[tuple[UserVariable, bool]] = []
    for line in lines:
        where = f"{unit} {line.number}"
        if line.name in seen:
            errors[where] = [f"{line.name} is already given on {unit} {seen[line.name]}."]
            continue
        seen[line.name] = line.number
        current = existing.get(line.name)
        if current is not None and current.is_secret:
            errors[where] = [f"{line.name} is a secret variable; change it on its own."]
            continue
        variable = current or UserVariable(user=user, name=line.name)
        variable.value = line.value
        if len(line.value) > MAX_VALUE:
            errors[where] = [f"{line.name}: value: at most {MAX_VALUE} characters."]
            continue
        if line.description or current is None:
            variable.description = line.description
        try:
            variable.full_clean(exclude=["ciphertext", "user"], validate_constraints=False)
        except ValidationError as exc:
            errors[where] = [f"{line.name}: {field}: {message}"
                             for field, messages in exc.message_dict.items()
                             for message in messages]
            continue
        planned.append((variable, current is None))
    if errors:
        raise ImportFailed(dict(sorted(errors.items(), key=lambda kv: _order(kv[0]))))
    with transaction.atomic():
        for variable, _new in planned:
            variable.save()
    created = sum(1 for _v, new in planned if new)
    return {"created": created, "updated": len(planned) - created}


def _order(key: str) -> tuple[int, str]:
    number = key.rsplit(" ", 1)[-1]
    return (int(number), key) if number.isdigit() else (0, key)
