"""Templates: publish a version for others, install it as a draft, rate, favour, collect.

One set of rules for the API, the admin and the shell:

* A template holds the graph of a published version and the *names* of the credentials
  it reads (``secrets.NAME``, ``vars.NAME``), never their values.  Publishing (and any
  change of what a template shows) is refused while a value of one of the workspace's
  vault secrets, or of the publisher's secret variables, appears literally in it: a
  pasted API key must not reach the gallery.
* A template is reachable from its own workspace, and from every workspace once public.
  Reviews, favourites, installations and ratings are rows of the acting workspace that
  point at a reachable template.
* Installing goes through ``workflow_import``: a new draft workflow, all or nothing,
  plus a ``TemplateInstallation`` row (the template's install count, and the link that
  makes the workflow's executions count as its usage).
* Ratings: the template row is locked and the average recomputed from the reviews in
  the same transaction, so concurrent reviews never lose one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from jinja2 import TemplateError
from jinja2 import nodes as jinja_nodes
from jinja2.sandbox import SandboxedEnvironment

from core import events, tenancy
from core.api.errors import ApiError
from core.ratings import refresh_average

from ..expressions import is_template
from ..models import (
    Execution,
    Node,
    NodeRating,
    NodeTemplate,
    TemplateCollection,
    TemplateFavorite,
    TemplateInstallation,
    TemplateReview,
    Workflow,
    WorkflowTemplate,
    WorkflowVersion,
)
from ..models.templates import Visibility
from ..snapshot import checksum
from . import definitions

#: Secret values shorter than this are not searched for: "1" or "yes" would match
#: everywhere, and a key that short protects nothing anyway.
MIN_SECRET_LENGTH = 6
_parser = SandboxedEnvironment()  # parsing only: expressions.py renders

TEMPLATE_INSTALLED = "workflows.template.installed"
_ID = {"type": "integer", "minimum": 1}
_NAMES = {"type": "array", "items": {"type": "string"}}
TEMPLATE_INSTALLED_SCHEMA = {
    "type": "object",
    "properties": {
        "template": {**_ID, "description": "The template's id."},
        "template_workspace": {**_ID, "description": "The publishing workspace."},
        "installation": {**_ID, "description": "The installation's id."},
        "workflow": {**_ID, "description": "The draft workflow created."},
        "required_secrets": {**_NAMES, "description": "Secret names the graph reads."},
        "required_variables": {**_NAMES, "description": "User variable names it reads."},
        "missing_secrets": {**_NAMES, "description": "Required secrets the workspace "
                                                     "lacked at install."},
    },
    "required": ["template", "template_workspace", "installation", "workflow",
                 "required_secrets", "required_variables", "missing_secrets"],
}


def register_events() -> None:
    """Declare the event this module emits (idempotent; ``WorkflowsConfig.ready``)."""
    events.register(TEMPLATE_INSTALLED, version=1, schema=TEMPLATE_INSTALLED_SCHEMA,
                    description="A workflow template was installed into the workspace as "
                                "a new draft workflow (credential names only).")


def _user(by):
    return by if getattr(by, "pk", None) else None


# --- what a config needs: credential names ------------------------------------------------


def _strings(value, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text in ``value`` (mapping keys included) with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield where, key
            yield from _strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _names_read(text: str) -> Iterator[tuple[str, str]]:
    """(``secrets`` or ``vars``, NAME) for every ``secrets.NAME`` / ``secrets["NAME"]``."""
    try:
        tree = _parser.parse(text)
    except TemplateError:
        return  # publishing already refuses expressions that do not parse
    for node in tree.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        target = node.node
        if not (isinstance(target, jinja_nodes.Name) and target.name in ("secrets", "vars")):
            continue
        if isinstance(node, jinja_nodes.Getattr):
            yield target.name, node.attr
        elif isinstance(node.arg, jinja_nodes.Const) and isinstance(node.arg.value, str):
            yield target.name, node.arg.value


def required_credentials(configs) -> dict[str, list[str]]:
    """``{"secrets": [...], "variables": [...]}``: the names ``configs`` read, sorted."""
    found: dict[str, set[str]] = {"secrets": set(), "vars": set()}
    for _path, text in _strings(configs):
        if is_template(text):
            for scope, name in _names_read(text):
                found[scope].add(name)
    return {"secrets": sorted(found["secrets"]), "variables": sorted(found["vars"])}


def _graph_configs(graph: dict) -> dict:
    return {str(n.get("key")): n.get("config") for n in graph.get("nodes") or []
            if isinstance(n, dict)}


# --- no secret values ------------------------------------------------------------------------


def _secret_values(workspace_id: int, publisher=None) -> list[tuple[str, str]]:
    """(label, value) of the workspace's vault secrets and the publisher's secret
    variables, decrypted here only to be searched for."""
    from accounts.models import UserVariable
    from accounts.services.variables import variable_value
    from workspaces.models import Secret
    from workspaces.services import vault

    found = [(f"secret {s.name}", vault.decrypt(s.ciphertext))
             for s in Secret.objects.filter(workspace_id=workspace_id)]
    if _user(publisher):
        found += [(f"your secret variable {v.name}", variable_value(v))
                  for v in UserVariable.objects.filter(user=publisher, is_secret=True)]
    return [(label, value) for label, value in found if len(value) >= MIN_SECRET_LENGTH]


def _variants(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value)}


def refuse_secret_values(*, workspace_id: int, content: dict, publisher=None) -> None:
    """400 ``secret_in_template`` naming where (path) and which secret (by name, never
    its value) when a secret's value appears literally anywhere in ``content``."""
    secrets = [(label, _variants(value)) for label, value in
               _secret_values(workspace_id, publisher)]
    if not secrets:
        return
    errors: dict[str, list[str]] = {}
    leaked: set[str] = set()
    for path, text in _strings(content):
        for label, variants in secrets:
            if any(v in text for v in variants):
                leaked.add(label)
                name = label.rsplit(" ", 1)[-1]
                scope = "vars" if "variable" in label else "secrets"
                errors.setdefault(path, []).append(
                    f"Holds the value of {label}: write {{{{ {scope}.{name} }}}} instead, "
                    "so installers use their own.")
    if errors:
        raise ApiError(400, "secret_in_template",
                       f"The value of {', '.join(sorted(leaked))} is pasted into what would "
                       f"be shared ({', '.join(sorted(errors))}): templates carry credential "
                       "names only.", errors=errors)


# --- reachability --------------------------------------------------------------------------


def reachable(model, principal):
    """Rows of ``model`` (a template model) ``principal`` may see: own or public."""
    ids = tenancy.workspace_ids(principal, model, "view")
    queryset = model._default_manager.all()
    if ids is None:
        return queryset
    return queryset.filter(Q(visibility=Visibility.PUBLIC) | Q(workspace_id__in=ids))


def _reachable_from(obj, workspace_id: int) -> bool:
    return obj.visibility == Visibility.PUBLIC or obj.workspace_id == workspace_id


def _require_reachable(obj, workspace_id: int, field: str) -> None:
    if not _reachable_from(obj, workspace_id):
        raise ValidationError({field: [f"No such {obj._meta.verbose_name}: it is private to "
                                       "another workspace."]})


def _save(obj) -> None:
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a race past full_clean's uniqueness check
        raise ValidationError(f"This {obj._meta.verbose_name} clashes with an existing one: "
                              f"{exc}") from exc


# --- workflow templates --------------------------------------------------------------------


def _freeze(template: WorkflowTemplate, version: WorkflowVersion) -> None:
    graph = copy.deepcopy(version.graph)
    template.source_version = version
    template.graph = graph
    template.checksum = checksum(graph)
    template.required_credentials = required_credentials(_graph_configs(graph))
    template.node_types = sorted({str(n.get("type")) for n in graph.get("nodes") or []
                                  if isinstance(n, dict)})


def _shown(template: WorkflowTemplate) -> dict:
    return {"name": template.name, "description": template.description,
            "category": template.category, "tags": template.tags, "graph": template.graph}


@transaction.atomic
def template_publish(*, source_version: WorkflowVersion | None, by=None, name: str = "",
                     description: str = "", category: str = "", tags=None,
                     visibility: str = Visibility.PRIVATE, workspace=None) -> WorkflowTemplate:
    """A template of ``source_version`` in its workspace; refused if it would carry a
    secret's value."""
    if source_version is None:
        raise ValidationError({"source_version": ["Choose the published version to make a "
                                                  "template of."]})
    if workspace is not None and workspace.pk != source_version.workspace_id:
        raise ValidationError({"source_version": ["This version belongs to another "
                                                  "workspace."]})
    template = WorkflowTemplate(
        workspace_id=source_version.workspace_id, name=name or source_version.workflow.name,
        description=description or source_version.workflow.description, category=category,
        tags=list(tags or []), visibility=visibility, publisher=_user(by))
    _freeze(template, source_version)
    refuse_secret_values(workspace_id=template.workspace_id, content=_shown(template),
                         publisher=by)
    _save(template)
    return template


@transaction.atomic
def template_update(template: WorkflowTemplate, *, by=None, **fields) -> WorkflowTemplate:
    """Change what the gallery shows; a new ``source_version`` re-freezes the graph."""
    fields.pop("workspace", None)
    version = fields.pop("source_version", None)
    for name, value in fields.items():
        setattr(template, name, value)
    if version is not None and version.pk != template.source_version_id:
        if version.workspace_id != template.workspace_id:
            raise ValidationError({"source_version": ["This version belongs to another "
                                                      "workspace."]})
        _freeze(template, version)
    refuse_secret_values(workspace_id=template.workspace_id, content=_shown(template),
                         publisher=by or template.publisher)
    _save(template)
    return template


def template_delete(template: WorkflowTemplate) -> None:
    template.delete()  # installations keep their name; installed workflows stay


@transaction.atomic
def template_install(*, template: WorkflowTemplate, workspace, by=None, name: str | None = None,
                     principal=None) -> TemplateInstallation:
    """A new draft workflow from ``template`` in ``workspace``.

    404 when the template is private to another workspace; a name already used answers
    400 naming it (pass ``name``).  The installation row lists the credentials the
    installer must create, and which secrets the workspace lacks now.
    """
    from workspaces.models import Secret

    if principal is not None:
        if not reachable(WorkflowTemplate, principal).filter(pk=template.pk).exists():
            raise ApiError(404, "not_found", "No such template.")
        if not tenancy.can_in_workspace(principal, workspace, Workflow, "add"):
            raise ApiError(403, "permission_denied",
                           "Your role in this workspace cannot create workflows.")
    if not _reachable_from(template, workspace.pk):
        raise ApiError(404, "not_found", "No such template: it is private to another "
                                         "workspace.")
    data = {"format": definitions.EXPORT_FORMAT, "name": template.name,
            "description": template.description,
            "metadata": {"template": {"id": template.pk, "checksum": template.checksum}},
            "graph": copy.deepcopy(template.graph)}
    workflow = definitions.workflow_import(workspace=workspace, data=data, by=by,
                                           name=(name or "").strip() or None)
    needed = template.required_credentials or {"secrets": [], "variables": []}
    present = set(Secret.objects.filter(workspace=workspace, name__in=needed["secrets"])
                  .values_list("name", flat=True))
    installation = TemplateInstallation.objects.create(
        workspace=workspace, template=template, template_name=template.name,
        workflow=workflow, installed_by=_user(by), required_credentials=needed,
        missing_secrets=[s for s in needed["secrets"] if s not in present])
    WorkflowTemplate.objects.filter(pk=template.pk).update(install_count=F("install_count") + 1)
    events.emit(TEMPLATE_INSTALLED, {
        "template": template.pk, "template_workspace": template.workspace_id,
        "installation": installation.pk, "workflow": workflow.pk,
        "required_secrets": needed["secrets"], "required_variables": needed["variables"],
        "missing_secrets": installation.missing_secrets}, workspace_id=workspace.pk)
    return installation


def template_usage_count(template: WorkflowTemplate) -> int:
    """Executions of the workflows installed from ``template`` (still existing)."""
    return Execution.objects.filter(workflow__template_installations__template=template).count()


# --- collections ---------------------------------------------------------------------------


def _collection_templates(collection: TemplateCollection, templates) -> None:
    for template in templates:
        _require_reachable(template, collection.workspace_id, "templates")
    collection.templates.set(templates)


@transaction.atomic
def collection_create(*, workspace, by=None, templates=(), **fields) -> TemplateCollection:
    collection = TemplateCollection(workspace=workspace, curated_by=_user(by), **fields)
    _save(collection)
    _collection_templates(collection, templates)
    return collection


@transaction.atomic
def collection_update(collection: TemplateCollection, *, templates=None,
                      **fields) -> TemplateCollection:
    fields.pop("workspace", None)
    for name, value in fields.items():
        setattr(collection, name, value)
    _save(collection)
    if templates is not None:
        _collection_templates(collection, templates)
    return collection


def collection_delete(collection: TemplateCollection) -> None:
    collection.delete()


# --- one per user: favourites, reviews, node ratings ---------------------------------------


def _person(user):
    if _user(user) is None:
        raise ApiError(400, "user_required", "This belongs to a person: sign in as a user, "
                                             "not with an API key.",
                       errors={"user": ["A signed-in user is required."]})
    return user


def _already(model, field: str, what: str, **lookup) -> None:
    if model._default_manager.filter(**lookup).exists():
        raise ApiError(400, f"duplicate_{model._meta.model_name}",
                       f"You already {what}; change or delete that one.",
                       errors={field: [f"You already {what}."]})


@transaction.atomic
def favorite_create(*, workspace, template: WorkflowTemplate, user,
                    by=None) -> TemplateFavorite:
    _person(user)
    _require_reachable(template, workspace.pk, "template")
    WorkflowTemplate.objects.select_for_update().filter(pk=template.pk).first()
    _already(TemplateFavorite, "template", "favourited this template",
             template=template, user=user)
    favorite = TemplateFavorite(workspace=workspace, template=template, user=user)
    _save(favorite)
    return favorite


def favorite_delete(favorite: TemplateFavorite) -> None:
    favorite.delete()


def _rate(model, rated_field: str, *, workspace, rated, user, rating, comment: str, what: str):
    _person(user)
    _require_reachable(rated, workspace.pk, rated_field)
    target = type(rated)
    target.objects.select_for_update().get(pk=rated.pk)  # rates of one row: one at a time
    _already(model, rated_field, what, **{rated_field: rated, "user": user})
    row = model(workspace=workspace, user=user, rating=rating, comment=comment or "",
                **{rated_field: rated})
    _save(row)
    refresh_average(target, rated.pk, model.objects.filter(**{rated_field: rated}))
    return row


def _rerate(row, rated_field: str, fields: dict):
    """Change a rating; moving it to another rated row recomputes both averages."""
    fields.pop("workspace", None)
    fields.pop("user", None)
    target = row._meta.get_field(rated_field).related_model
    old_id = getattr(row, f"{rated_field}_id")
    rated = fields.pop(rated_field, None)
    ids = sorted({old_id, rated.pk if rated is not None else old_id})
    list(target.objects.select_for_update().filter(pk__in=ids).order_by("pk"))  # one order
    if rated is not None and rated.pk != old_id:
        _require_reachable(rated, row.workspace_id, rated_field)
        _already(type(row), rated_field, f"rated this {rated._meta.verbose_name}",
                 **{rated_field: rated, "user_id": row.user_id})
        setattr(row, rated_field, rated)
    for name, value in fields.items():
        setattr(row, name, value)
    _save(row)
    for rated_id in ids:
        refresh_average(target, rated_id,
                        type(row).objects.filter(**{f"{rated_field}_id": rated_id}))
    return row


def _unrate(row, rated_field: str) -> None:
    target = row._meta.get_field(rated_field).related_model
    rated_id = getattr(row, f"{rated_field}_id")
    target.objects.select_for_update().filter(pk=rated_id).first()
    row.delete()
    refresh_average(target, rated_id, type(row).objects.filter(**{f"{rated_field}_id": rated_id}))


@transaction.atomic
def review_create(*, workspace, template: WorkflowTemplate, user, rating: int,
                  comment: str = "", by=None) -> TemplateReview:
    return _rate(TemplateReview, "template", workspace=workspace, rated=template, user=user,
                 rating=rating, comment=comment, what="reviewed this template")


@transaction.atomic
def review_update(review: TemplateReview, **fields) -> TemplateReview:
    return _rerate(review, "template", fields)


@transaction.atomic
def review_delete(review: TemplateReview) -> None:
    _unrate(review, "template")


@transaction.atomic
def node_rating_create(*, workspace, node_template: NodeTemplate, user, rating: int,
                       comment: str = "", by=None) -> NodeRating:
    return _rate(NodeRating, "node_template", workspace=workspace, rated=node_template,
                 user=user, rating=rating, comment=comment, what="rated this node template")


@transaction.atomic
def node_rating_update(row: NodeRating, **fields) -> NodeRating:
    return _rerate(row, "node_template", fields)


@transaction.atomic
def node_rating_delete(row: NodeRating) -> None:
    _unrate(row, "node_template")


# --- node templates ------------------------------------------------------------------------


def _node_shown(node_template: NodeTemplate) -> dict:
    return {"name": node_template.name, "description": node_template.description,
            "config": node_template.config}


def _node_template_save(node_template: NodeTemplate, by=None) -> NodeTemplate:
    node_template.required_credentials = required_credentials(node_template.config)
    refuse_secret_values(workspace_id=node_template.workspace_id,
                         content=_node_shown(node_template),
                         publisher=by or node_template.publisher)
    _save(node_template)
    return node_template


@transaction.atomic
def node_template_create(*, workspace, by=None, **fields) -> NodeTemplate:
    return _node_template_save(NodeTemplate(workspace=workspace, publisher=_user(by), **fields),
                               by)


@transaction.atomic
def node_template_update(node_template: NodeTemplate, *, by=None, **fields) -> NodeTemplate:
    fields.pop("workspace", None)
    for name, value in fields.items():
        setattr(node_template, name, value)
    return _node_template_save(node_template, by)


def node_template_delete(node_template: NodeTemplate) -> None:
    node_template.delete()


@transaction.atomic
def node_template_apply(*, node_template: NodeTemplate, workflow: Workflow, key: str,
                        by=None, principal=None, name: str = "", position_x: int = 0,
                        position_y: int = 0) -> Node:
    """A new node of ``workflow``'s draft graph from the preset (``node_create``)."""
    if principal is not None:
        if not reachable(NodeTemplate, principal).filter(pk=node_template.pk).exists():
            raise ApiError(404, "not_found", "No such node template.")
        if not tenancy.can(principal, workflow, "change"):
            raise ApiError(403, "permission_denied",
                           "Your role in this workspace cannot change this workflow.")
    _require_reachable(node_template, workflow.workspace_id, "node_template")
    if Node.objects.filter(workflow=workflow, key=key).exists():
        raise ValidationError({"key": [f"{workflow} already has a node {key!r}: choose "
                                       "another key."]})
    node = definitions.node_create(workflow=workflow, by=by, key=key,
                                   type=node_template.node_type,
                                   name=name or node_template.name[:120],
                                   config=copy.deepcopy(node_template.config),
                                   position_x=position_x, position_y=position_y)
    NodeTemplate.objects.filter(pk=node_template.pk).update(apply_count=F("apply_count") + 1)
    return node
