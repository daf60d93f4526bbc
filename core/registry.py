"""What the project exposes: models, their API resources and admin registrations.

Read back from the live URL conf and admin site, never from a hand-kept list,
so the sync report and the generic contract tests see exactly what users see.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver

from .models import is_append_only

OPERATIONS = ("list", "retrieve", "create", "update", "delete")
_ACTION_TO_OPERATION = {
    "list": "list",
    "retrieve": "retrieve",
    "create": "create",
    "update": "update",
    "partial_update": "update",
    "destroy": "delete",
}


@dataclass
class ApiResource:
    model: type[models.Model]
    viewset: type
    basename: str
    route: str
    operations: set[str] = field(default_factory=set)

    @property
    def list_url_name(self) -> str:
        return f"{self.basename}-list"

    @property
    def detail_url_name(self) -> str:
        return f"{self.basename}-detail"


def owned_models() -> list[type[models.Model]]:
    """Concrete models of our own apps: the ones held to the coverage rule."""
    local = set(settings.LOCAL_APPS)
    return [
        m
        for m in apps.get_models()
        if m._meta.app_config.name in local and not m._meta.proxy and m._meta.managed
    ]


def framework_models() -> list[type[models.Model]]:
    local = set(settings.LOCAL_APPS)
    return [m for m in apps.get_models() if m._meta.app_config.name not in local]


def api_resources(urlconf=None) -> list[ApiResource]:
    """Every model viewset routed under the URL conf, with the operations it serves."""
    found: dict[str, ApiResource] = {}
    for pattern, route in _walk(get_resolver(urlconf).url_patterns, ""):
        callback = pattern.callback
        viewset, actions = getattr(callback, "cls", None), getattr(callback, "actions", None)
        queryset = getattr(viewset, "queryset", None)
        if not actions or queryset is None or not pattern.name:
            continue
        basename = pattern.name.rsplit("-", 1)[0]
        resource = found.setdefault(
            basename, ApiResource(queryset.model, viewset, basename, route)
        )
        resource.operations.update(
            _ACTION_TO_OPERATION[a] for a in actions.values() if a in _ACTION_TO_OPERATION
        )
    return sorted(found.values(), key=lambda r: r.basename)


def _walk(patterns, prefix):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield p, prefix + str(p.pattern)


@dataclass
class ModelCoverage:
    model: type[models.Model]
    resources: list[ApiResource]
    admin_registered: bool
    append_only: bool

    @property
    def operations(self) -> set[str]:
        return set().union(*(r.operations for r in self.resources)) if self.resources else set()

    @property
    def declared_operations(self) -> set[str] | None:
        declared = getattr(self.model, "api_operations", None)
        return set(declared) if declared is not None else None

    @property
    def required_operations(self) -> set[str]:
        if self.append_only:
            return {"list", "retrieve"}
        return self.declared_operations or set(OPERATIONS)

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.admin_registered:
            found.append("not registered in the admin")
        if not self.resources:
            found.append("no API resource")
        else:
            missing = [op for op in OPERATIONS if op in self.required_operations - self.operations]
            if missing:
                found.append("API lacks " + ", ".join(missing))
            if self.append_only and self.operations & {"create", "update", "delete"}:
                found.append("append-only but the API accepts writes")
            elif self.declared_operations and self.operations - self.declared_operations:
                undeclared = self.operations - self.declared_operations
                found.append("API offers undeclared "
                             + ", ".join(op for op in OPERATIONS if op in undeclared))
        return found

    @property
    def covered(self) -> bool:
        return not self.problems


def coverage(model_list=None, urlconf=None) -> list[ModelCoverage]:
    resources = api_resources(urlconf)
    by_model: dict[type, list[ApiResource]] = {}
    for r in resources:
        by_model.setdefault(r.model, []).append(r)
    return [
        ModelCoverage(
            model=m,
            resources=by_model.get(m, []),
            admin_registered=admin.site.is_registered(m),
            append_only=is_append_only(m),
        )
        for m in (owned_models() if model_list is None else model_list)
    ]
