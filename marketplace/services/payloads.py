"""What a workflow component's payload must be: a workflow export that
``workflow_import`` would accept, carrying no secret and needing nothing of the
publisher's workspace.

The shape and graph checks are the import's own (``_import_shape`` and
``graph_problems``), so a published version always installs.  On top of them:

* **No secrets in the payload.**  A config value under a credential-like key
  (password, token, api key, authorization, secret...) must be an expression
  (``{{ secrets.NAME }}``): it is then read from the *installing* workspace's vault at
  run time.  A literal value is refused: it would hand the publisher's credential to
  every buyer.
* **Self-contained.**  A ``subworkflow`` node names a workflow by its id in the
  publisher's workspace, which means nothing elsewhere: refused.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from workflows.graph import graph_problems
from workflows.services import definitions

_CREDENTIAL_KEY = re.compile(r"(pass(word|wd)?|secret|token|api[_-]?key|apikey|"
                             r"authorization|private[_-]?key|client[_-]?secret)$",
                             re.IGNORECASE)
_EXPRESSION = re.compile(r"^\s*\{\{.*\}\}\s*$", re.DOTALL)


def _literal_credentials(value, path: str):
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if _CREDENTIAL_KEY.search(str(key)) and isinstance(item, str) and item \
                    and not _EXPRESSION.match(item):
                yield where
            else:
                yield from _literal_credentials(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _literal_credentials(item, f"{path}.{index}")


def workflow_payload_check(payload) -> None:
    """Raise a ``ValidationError`` naming every problem (keys ``payload.<where>``)."""
    try:
        graph, nodes, _, _ = definitions._import_shape(payload)
    except ValidationError as exc:
        raise ValidationError({f"payload.{field}": messages
                               for field, messages in exc.message_dict.items()}) from exc
    errors: dict[str, list[str]] = {}
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["payload.name"] = ["The export has no name."]
    for problem in graph_problems(graph):
        field = f"{problem['node']}.{problem['field']}" if problem["node"] else problem["field"]
        errors.setdefault(f"payload.graph.{field}", []).append(problem["message"])
    for node in nodes:
        key = node.get("key")
        if node.get("type") == "subworkflow":
            errors.setdefault(f"payload.graph.{key}.type", []).append(
                "A component must be self-contained: a sub-workflow call names a workflow "
                "of the publisher's workspace.")
        for where in _literal_credentials(node.get("config"), f"payload.graph.{key}.config"):
            errors.setdefault(where, []).append(
                "A credential must not travel in a component: use an expression such as "
                "{{ secrets.NAME }} so each workspace's own vault supplies it.")
    if errors:
        raise ValidationError(errors)
