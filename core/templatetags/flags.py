"""Feature flags in templates: ``{% load flags %}`` then
``{% flag_active "new-editor" as on %}{% if on %}...{% endif %}`` (the request's user) or
``{% flag_active "new-editor" workspace=workspace as on %}``; or the filter
``{% if "new-editor"|flag_on:workspace %}``.  Both ask ``core.flags.is_active``."""

from django import template

from core import flags

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) if request is not None else context.get("user")


@register.simple_tag(takes_context=True)
def flag_active(context, key: str, workspace=None) -> bool:
    return flags.is_active(key, workspace=workspace, user=_user(context))


@register.filter
def flag_on(key: str, workspace=None) -> bool:
    """Without a user: for a workspace (or the global answer when none is given)."""
    return flags.is_active(key, workspace=workspace)
