"""What the agents models share: the same-workspace rule and JSON field validators."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from workflows.policies import validate_json_schema  # noqa: F401  (re-exported)

CAPABILITIES = ("tools", "vision", "json", "streaming", "embeddings")


def same_workspace(obj, *related) -> None:
    for name in related:
        other = getattr(obj, name, None)
        if other is not None and obj.workspace_id and other.workspace_id != obj.workspace_id:
            raise ValidationError({name: "This object belongs to another workspace."})


def validate_capabilities(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("A list of capability names, e.g. [\"tools\", \"json\"].")
    unknown = sorted(set(value) - set(CAPABILITIES))
    if unknown:
        raise ValidationError("Unknown capabilities: %(names)s (known: %(known)s).",
                              params={"names": ", ".join(unknown),
                                      "known": ", ".join(CAPABILITIES)})


def validate_object(value) -> None:
    if not isinstance(value, dict):
        raise ValidationError("A JSON object is expected.")
