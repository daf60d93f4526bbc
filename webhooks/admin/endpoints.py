"""The endpoint's admin: created and changed through the services (the secret is shown
once, in a message), a link to its delivery log, and the actions send test event,
enable, disable, rotate secret and "replay since…" (a page with a form)."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core import tenancy
from core.admin.base import BaseModelAdmin
from core.admin.display import GREEN, RED, status_badge
from core.admin.services import adopt, call

from ..models import WebhookEndpoint
from ..services import endpoints as services
from ..services import replay

REPLAY_TEMPLATE = "admin/webhooks/webhookendpoint/replay.html"


class EndpointForm(forms.ModelForm):
    class Meta:
        model = WebhookEndpoint
        fields = ["workspace", "url", "description", "event_types", "ordered", "owner"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if url and url != self.instance.url:
            try:
                services.url_check(url)
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict["url"]) from None
        return url


class ReplayForm(forms.Form):
    since = forms.DateTimeField(help_text="Messages created since then (UTC).")
    failed_only = forms.BooleanField(required=False, initial=True,
                                     help_text="Only messages that never succeeded here.")


def refused_or(modeladmin, request, what: str, func, *args, **kwargs):
    """``core.admin.services.call``, with the role refusal (staff whose workspace role is
    below admin) as a message too."""
    try:
        return call(modeladmin, request, what, func, *args, **kwargs)
    except PermissionDenied as exc:
        modeladmin.message_user(request, f"{what}: {exc}", messages.ERROR)
    return None


def _each(modeladmin, request, queryset, what: str, func) -> list:
    """``func(endpoint, principal)`` for each endpoint; refusals become messages."""
    principal = tenancy.principal_for(request)
    return [(endpoint, done) for endpoint in queryset
            if (done := refused_or(modeladmin, request, f"{what} {endpoint}", func, endpoint,
                                   principal)) is not None]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(BaseModelAdmin):
    form = EndpointForm
    list_display = ("__str__", "workspace", "state", "ordered", "failure_count",
                    "last_success_at", "created_at")
    list_filter = ("is_enabled", "ordered")
    search_fields = ("url", "description")
    readonly_fields = ("is_enabled", "disabled_at", "disabled_reason", "secret_rotated_at",
                       "previous_secret_expires_at", "failure_count", "first_failure_at",
                       "last_success_at", "last_failure_at", "delivery_log")
    actions = ["send_test_event", "enable_endpoints", "disable_endpoints", "rotate_secrets"]
    object_pages = {"replay": ("replay/", "replay_view")}

    @admin.display(description="state", ordering="is_enabled")
    def state(self, endpoint):
        return status_badge(endpoint.is_enabled, "enabled" if endpoint.is_enabled else
                            "disabled", {True: GREEN, False: RED})

    @admin.display(description="deliveries")
    def delivery_log(self, endpoint):
        if endpoint.pk is None:
            return "—"
        log = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">Delivery log</a> · '
                           '<a href="{}">Replay since…</a>', log, endpoint.pk,
                           reverse("admin:webhooks_webhookendpoint_replay", args=[endpoint.pk]))

    def save_model(self, request, obj, form, change):
        principal = tenancy.principal_for(request)
        data = {name: form.cleaned_data.get(name) for name in services.EDITABLE}
        if change:
            services.endpoint_update(endpoint=obj, principal=principal, **data)
            return
        data["owner"] = data["owner"] or request.user  # someone to tell if it is disabled
        saved, secret = services.endpoint_create(workspace=form.cleaned_data["workspace"],
                                                 principal=principal, **data)
        adopt(obj, saved)
        self.message_user(request, f"Signing secret of {saved.url} (shown only now): {secret}",
                          messages.WARNING)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request, queryset):
        done = _each(self, request, queryset, "Test event to",
                     lambda e, p: replay.send_test(endpoint=e, principal=p))
        if done:
            self.message_user(request, f"Test event sent to {len(done)} endpoint(s); see "
                                       f"their delivery logs.", messages.SUCCESS)

    @admin.action(description="Enable", permissions=["change"])
    def enable_endpoints(self, request, queryset):
        done = _each(self, request, queryset, "Enable",
                     lambda e, p: services.endpoint_enable(endpoint=e, principal=p))
        if done:
            self.message_user(request, f"Enabled {len(done)} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Disable", permissions=["change"])
    def disable_endpoints(self, request, queryset):
        done = _each(self, request, queryset, "Disable",
                     lambda e, p: services.endpoint_disable(endpoint=e, principal=p))
        if done:
            self.message_user(request, f"Disabled {len(done)} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secrets(self, request, queryset):
        for endpoint, (_, secret) in _each(
                self, request, queryset, "Rotate",
                lambda e, p: services.endpoint_rotate_secret(endpoint=e, principal=p)):
            self.message_user(request, f"New signing secret of {endpoint.url} (shown only "
                                       f"now; the previous one signs too for the grace "
                                       f"period): {secret}", messages.WARNING)

    def replay_view(self, request, object_id):
        endpoint = self.get_object_or_404(request, object_id)
        form = ReplayForm(request.POST or None,
                          initial={"since": timezone.now() - timedelta(days=1)})
        if request.method == "POST" and form.is_valid():
            replays = refused_or(self, request, "Replay", replay.endpoint_replay_since,
                           endpoint=endpoint, principal=tenancy.principal_for(request),
                           **form.cleaned_data)
            if replays is not None:
                self.message_user(request, f"{len(replays)} message(s) queued again.",
                                  messages.SUCCESS)
                return redirect(reverse("admin:webhooks_webhookendpoint_change",
                                        args=[endpoint.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "original": endpoint, "title": f"Replay messages to {endpoint}",
                   "form": form}
        return TemplateResponse(request, REPLAY_TEMPLATE, context)
