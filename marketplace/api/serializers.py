"""Serializers of the marketplace API: the models' own, and the bodies of the actions."""

from __future__ import annotations

from rest_framework import serializers

from core import tenancy
from core.api.serializers import BaseModelSerializer
from workspaces.models import Workspace

from .. import models as m

_TIMESTAMPS = ["created_at", "updated_at"]


class MarketplaceComponentSerializer(BaseModelSerializer):
    class Meta:
        model = m.MarketplaceComponent
        fields = ["id", "name", "slug", "kind", "description", "publisher", "price", "currency",
                  "status", "tags", "rating_average", "rating_count", "downloads_count",
                  *_TIMESTAMPS]


class ComponentVersionSerializer(BaseModelSerializer):
    """A version; created through publishing (semver greater than the latest, payload
    checked), then immutable except for yanking."""

    class Meta:
        model = m.ComponentVersion
        fields = ["id", "component", "version", "sequence", "changelog", "payload", "checksum",
                  "published_at", "published_by", "yanked", "yanked_reason"]
        # "Not greater than the latest" (with the reason) is the service's 400.
        validators = []
        extra_kwargs = {"payload": {"help_text": "The workflow export installed (staff only: "
                                                 "others install the version to get it, "
                                                 "so a paid one is bought first)."}}


class ComponentVersionPublicSerializer(ComponentVersionSerializer):
    """A version as clients read it: everything but the payload, which would let anyone
    import a paid workflow without buying it."""

    class Meta(ComponentVersionSerializer.Meta):
        fields = [f for f in ComponentVersionSerializer.Meta.fields if f != "payload"]


class ComponentRatingSerializer(BaseModelSerializer):
    class Meta:
        model = m.ComponentRating
        fields = ["id", "component", "user", "score", "comment", *_TIMESTAMPS]
        read_only_fields = ["user"]


class ComponentPurchaseSerializer(BaseModelSerializer):
    """On create only ``workspace``, ``component`` and ``method`` are read; buying again
    returns the first purchase (200) and charges nothing."""

    class Meta:
        model = m.ComponentPurchase
        fields = ["id", "workspace", "component", "method", "status", "price_paid", "currency",
                  "credits_spent", "credit_transaction", "invoice_line", "purchased_by",
                  *_TIMESTAMPS]
        read_only_fields = ["price_paid", "currency"]
        validators = []  # one purchase per workspace and component: the service's answer

    def _clean_exclude(self) -> list[str]:
        # Buying again is answered by the service (the first purchase, nothing charged),
        # so the model's one-purchase constraint must not turn it into a 400 here.
        return [*super()._clean_exclude(), "component"]


class ComponentInstallationSerializer(BaseModelSerializer):
    class Meta:
        model = m.ComponentInstallation
        fields = ["id", "workspace", "component", "version", "workflow", "installed_by",
                  "upgraded_at", "draft_checksum", *_TIMESTAMPS]


class ComponentDownloadSerializer(BaseModelSerializer):
    class Meta:
        model = m.ComponentDownload
        fields = ["id", "workspace", "component", "version", "installation", "kind",
                  "from_version", "by", "created_at"]


class _ForWorkspace(serializers.Serializer):
    workspace = serializers.PrimaryKeyRelatedField(
        queryset=Workspace.objects.all(), help_text="The workspace acted for.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["workspace"].queryset = tenancy.visible(
                Workspace.objects.all(), tenancy.principal_for(request))


class PurchaseBodySerializer(_ForWorkspace):
    method = serializers.ChoiceField(choices=m.ComponentPurchase.Method.choices,
                                     default=m.ComponentPurchase.Method.CREDITS,
                                     help_text="credits: from the balance now; invoice: a "
                                               "line on the subscription's next invoice.")


class InstallBodySerializer(_ForWorkspace):
    version = serializers.CharField(required=False, max_length=64,
                                    help_text="e.g. 1.4.0; default: the latest not yanked.")
    name = serializers.CharField(required=False, max_length=120,
                                 help_text="The new workflow's name (default: the "
                                           "component's); must be free in the workspace.")


class UpgradeBodySerializer(serializers.Serializer):
    version = serializers.CharField(required=False, max_length=64,
                                    help_text="e.g. 2.0.0; default: the latest not yanked.")
    force = serializers.BooleanField(default=False,
                                     help_text="Replace a draft edited since the install.")


class YankBodySerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why it is withdrawn.")
