"""Templates API: publish versions as templates, the gallery, install; collections,
favourites, reviews, installations; node templates (apply to a draft) and their ratings.

The scoped resources list the caller's own rows only.  The galleries
(``template-gallery/``, ``node-template-gallery/``) list public templates of every
workspace plus the caller's own, read-only.  Favourites, reviews and ratings may point
at a template of another workspace when it is public; every rule is the services'.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import (
    ResourceMixin,
    ScopedGenericViewSet,
    ScopedModelViewSet,
    ScopedReadOnlyModelViewSet,
)
from core.context import request_user
from workflows import models as m
from workflows.services import templates as services

from .serializers import NodeSerializer
from .views import SignedIn

_TIMESTAMPS = ["created_at", "updated_at"]
_RATINGS = ["rating_average", "rating_count"]


# --- serializers --------------------------------------------------------------------------


class _ReachingSerializer(BaseModelSerializer):
    """Related fields in ``reaching`` accept the caller's own rows or public ones (a
    review of another workspace's public template); the services check the row's own
    workspace may reach them."""

    reaching: dict[str, type] = {}

    def _scope_related_fields(self, fields) -> None:
        super()._scope_related_fields(fields)
        request = self.context.get("request")
        if request is None:
            return
        principal = tenancy.principal_for(request)
        for name, model in self.reaching.items():
            if name in fields and not fields[name].read_only:
                target = getattr(fields[name], "child_relation", fields[name])
                target.queryset = services.reachable(model, principal)

    def _check_same_workspace(self, attrs) -> None:
        super()._check_same_workspace({k: v for k, v in attrs.items()
                                       if k not in self.reaching})


class WorkflowTemplateSerializer(BaseModelSerializer):
    usage_count = serializers.SerializerMethodField(
        help_text="Executions of the workflows installed from this template.")

    class Meta:
        model = m.WorkflowTemplate
        fields = ["id", "workspace", "source_version", "name", "description", "category",
                  "tags", "visibility", "graph", "checksum", "required_credentials",
                  "node_types", "publisher", "published_at", "install_count", "usage_count",
                  *_RATINGS, *_TIMESTAMPS]
        read_only_fields = ["publisher", *_TIMESTAMPS]
        extra_kwargs = {"source_version": {"required": True, "allow_null": False}}

    def get_usage_count(self, obj) -> int:
        count = getattr(obj, "usage_count", None)
        return services.template_usage_count(obj) if count is None else count


class TemplateCollectionSerializer(_ReachingSerializer):
    reaching = {"templates": m.WorkflowTemplate}

    class Meta:
        model = m.TemplateCollection
        fields = ["id", "workspace", "name", "description", "templates", "curated_by",
                  *_TIMESTAMPS]
        read_only_fields = ["curated_by", *_TIMESTAMPS]
        extra_kwargs = {"templates": {"required": False}}


class TemplateFavoriteSerializer(_ReachingSerializer):
    reaching = {"template": m.WorkflowTemplate}

    class Meta:
        model = m.TemplateFavorite
        fields = ["id", "workspace", "template", "user", "created_at"]
        read_only_fields = ["user", "created_at"]


class TemplateReviewSerializer(_ReachingSerializer):
    reaching = {"template": m.WorkflowTemplate}

    class Meta:
        model = m.TemplateReview
        fields = ["id", "workspace", "template", "user", "rating", "comment", *_TIMESTAMPS]
        read_only_fields = ["user", *_TIMESTAMPS]


class TemplateInstallationSerializer(BaseModelSerializer):
    class Meta:
        model = m.TemplateInstallation
        fields = ["id", "workspace", "template", "template_name", "workflow", "installed_by",
                  "required_credentials", "missing_secrets", "installed_at"]


class NodeTemplateSerializer(BaseModelSerializer):
    class Meta:
        model = m.NodeTemplate
        fields = ["id", "workspace", "name", "description", "node_type", "config", "category",
                  "visibility", "required_credentials", "publisher", "apply_count",
                  *_RATINGS, *_TIMESTAMPS]
        read_only_fields = ["publisher", *_TIMESTAMPS]


class NodeRatingSerializer(_ReachingSerializer):
    reaching = {"node_template": m.NodeTemplate}

    class Meta:
        model = m.NodeRating
        fields = ["id", "workspace", "node_template", "user", "rating", "comment", *_TIMESTAMPS]
        read_only_fields = ["user", *_TIMESTAMPS]


class InstallSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, help_text="Where to install it.")
    name = serializers.CharField(max_length=120, required=False, allow_blank=True,
                                 help_text="The new workflow's name (default: the "
                                           "template's); give one when that name is taken.")


class ApplySerializer(serializers.Serializer):
    workflow = serializers.IntegerField(min_value=1, help_text="The draft to add the node to.")
    key = serializers.CharField(max_length=64, help_text="The new node's key.")
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    position_x = serializers.IntegerField(required=False, default=0,
                                          min_value=-2_147_483_648, max_value=2_147_483_647)
    position_y = serializers.IntegerField(required=False, default=0,
                                          min_value=-2_147_483_648, max_value=2_147_483_647)


# --- helpers ------------------------------------------------------------------------------


def _with_usage(queryset):
    executions = (m.Execution.objects
                  .filter(workflow__template_installations__template=OuterRef("pk"))
                  .order_by().values("workflow__template_installations__template")
                  .annotate(n=Count("id")).values("n"))
    return queryset.annotate(usage_count=Coalesce(Subquery(executions, output_field=IntegerField()),
                                                  0))


def _visible(model, principal, pk: int, field: str, action_name: str = "view"):
    obj = tenancy.visible(model._default_manager.filter(pk=pk), principal, action_name).first()
    if obj is None:
        raise ApiError(400, "invalid", "Invalid input.",
                       errors={field: [f'Invalid pk "{pk}" - object does not exist.']})
    return obj


def _workspace(principal, pk: int):
    from django.apps import apps
    from django.conf import settings

    model = apps.get_model(settings.TENANCY_WORKSPACE_MODEL)
    return _visible(model, principal, pk, "workspace")


class _ServiceWrites:
    """perform_* through ``create``/``update``/``delete`` services of this resource."""

    create_service = update_service = delete_service = None
    #: Whether the service is told the signed-in user as ``user`` (rows owned by a person).
    personal = False

    def perform_scoped_create(self, serializer):
        data = dict(serializer.validated_data)
        user = request_user(self.request)
        if self.personal:
            data["user"] = user
        serializer.instance = type(self).create_service(by=user, **data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = type(self).update_service(serializer.instance,
                                                            **serializer.validated_data)

    def perform_destroy(self, instance):
        with transaction.atomic():
            type(self).delete_service(instance)


# --- workflow templates -------------------------------------------------------------------


class WorkflowTemplateViewSet(_ServiceWrites, ScopedModelViewSet):
    """Your workspace's templates: create one from a published version (`source_version`);
    the graph and the names of the credentials it needs are frozen from it, never a
    secret's value (400 `secret_in_template` naming where one was pasted).  `install/`
    makes a new draft workflow from any template you can see (yours, or public)."""

    queryset = m.WorkflowTemplate.objects.all()
    serializer_class = WorkflowTemplateSerializer
    create_service = staticmethod(services.template_publish)
    delete_service = staticmethod(services.template_delete)

    def get_permissions(self):
        # Installing reads a template (maybe another workspace's public one) and writes
        # into the chosen workspace: the service checks both.
        return [SignedIn()] if self.action == "install" else super().get_permissions()

    def get_queryset(self):
        if self.action == "install" and not getattr(self, "swagger_fake_view", False):
            return services.reachable(m.WorkflowTemplate,
                                      tenancy.principal_for(self.request))
        return _with_usage(super().get_queryset())

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = services.template_update(
                serializer.instance, by=request_user(self.request), **serializer.validated_data)

    @extend_schema(request=InstallSerializer, responses={201: TemplateInstallationSerializer},
                   summary="Install as a new draft workflow",
                   description="Returns the installation: the new `workflow`, the "
                               "`required_credentials` to create (names) and the "
                               "`missing_secrets` the workspace lacks now.  404 for a "
                               "template private to another workspace; 400 naming `name` "
                               "when a workflow of that name exists.")
    @action(detail=True, methods=["post"])
    def install(self, request, pk=None):
        template = self.get_object()
        body = InstallSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = tenancy.principal_for(request)
        workspace = _workspace(principal, body.validated_data["workspace"])
        installation = services.template_install(
            template=template, workspace=workspace, by=request_user(request),
            name=body.validated_data.get("name"), principal=principal)
        return Response(TemplateInstallationSerializer(
            installation, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED)


class _Gallery(ResourceMixin, GenericAPIView):
    """A read-only view over a template model: public rows of every workspace and the
    caller's own.  Plain views, not a router resource: the scoped CRUD resource is the
    model's resource for the registry and the sync report."""

    permission_classes = [TenantPermission]  # signed in; reads only

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        return services.reachable(self.queryset.model, tenancy.principal_for(self.request))


class _GalleryList(_Gallery, mixins.ListModelMixin):
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class _GalleryDetail(_Gallery, mixins.RetrieveModelMixin):
    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)


class _TemplateGallery:
    """Public templates of every workspace, and your own (read-only); install one with
    `POST workflows/templates/{id}/install/`."""

    queryset = m.WorkflowTemplate.objects.all()
    serializer_class = WorkflowTemplateSerializer

    def get_queryset(self):
        return _with_usage(super().get_queryset())


class TemplateGalleryList(_TemplateGallery, _GalleryList):
    __doc__ = _TemplateGallery.__doc__


class TemplateGalleryDetail(_TemplateGallery, _GalleryDetail):
    __doc__ = _TemplateGallery.__doc__


class TemplateCollectionViewSet(_ServiceWrites, ScopedModelViewSet):
    """Curated lists of templates: your own or public ones."""

    queryset = m.TemplateCollection.objects.all()
    serializer_class = TemplateCollectionSerializer
    create_service = staticmethod(services.collection_create)
    update_service = staticmethod(services.collection_update)
    delete_service = staticmethod(services.collection_delete)


class TemplateFavoriteViewSet(_ServiceWrites, ScopedGenericViewSet, mixins.ListModelMixin,
                              mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                              mixins.DestroyModelMixin):
    """Your bookmarks of templates (yours or public): one per user and template."""

    queryset = m.TemplateFavorite.objects.all()
    serializer_class = TemplateFavoriteSerializer
    personal = True
    create_service = staticmethod(services.favorite_create)
    delete_service = staticmethod(services.favorite_delete)


class TemplateReviewViewSet(_ServiceWrites, ScopedModelViewSet):
    """Ratings (1 to 5) and comments of templates: one per user and template; the
    template's `rating_average` and `rating_count` follow."""

    queryset = m.TemplateReview.objects.all()
    serializer_class = TemplateReviewSerializer
    personal = True
    create_service = staticmethod(services.review_create)
    update_service = staticmethod(services.review_update)
    delete_service = staticmethod(services.review_delete)


class TemplateInstallationViewSet(ScopedReadOnlyModelViewSet):
    """Templates installed into your workspace: the workflow made and what it needs."""

    queryset = m.TemplateInstallation.objects.all()
    serializer_class = TemplateInstallationSerializer


# --- node templates -----------------------------------------------------------------------


class NodeTemplateViewSet(_ServiceWrites, ScopedModelViewSet):
    """Preset nodes (type and config; credential names only).  `apply/` adds one to a
    draft workflow as a new node."""

    queryset = m.NodeTemplate.objects.all()
    serializer_class = NodeTemplateSerializer
    create_service = staticmethod(services.node_template_create)
    delete_service = staticmethod(services.node_template_delete)

    def get_permissions(self):
        return [SignedIn()] if self.action == "apply" else super().get_permissions()

    def get_queryset(self):
        if self.action == "apply" and not getattr(self, "swagger_fake_view", False):
            return services.reachable(m.NodeTemplate, tenancy.principal_for(self.request))
        return super().get_queryset()

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = services.node_template_update(
                serializer.instance, by=request_user(self.request), **serializer.validated_data)

    @extend_schema(request=ApplySerializer, responses={201: NodeSerializer},
                   summary="Add the preset to a draft workflow as a new node",
                   description="Any node template you can see (yours, or public); the "
                               "workflow must be one your role may change.")
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        node_template = self.get_object()
        body = ApplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        principal = tenancy.principal_for(request)
        workflow = _visible(m.Workflow, principal, data.pop("workflow"), "workflow")
        node = services.node_template_apply(node_template=node_template, workflow=workflow,
                                            by=request_user(request), principal=principal,
                                            **data)
        return Response(NodeSerializer(node, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class _NodeTemplateGallery:
    """Public node templates of every workspace, and your own (read-only)."""

    queryset = m.NodeTemplate.objects.all()
    serializer_class = NodeTemplateSerializer


class NodeTemplateGalleryList(_NodeTemplateGallery, _GalleryList):
    __doc__ = _NodeTemplateGallery.__doc__


class NodeTemplateGalleryDetail(_NodeTemplateGallery, _GalleryDetail):
    __doc__ = _NodeTemplateGallery.__doc__


class NodeRatingViewSet(_ServiceWrites, ScopedModelViewSet):
    """Ratings (1 to 5) of node templates: one per user and node template."""

    queryset = m.NodeRating.objects.all()
    serializer_class = NodeRatingSerializer
    personal = True
    create_service = staticmethod(services.node_rating_create)
    update_service = staticmethod(services.node_rating_update)
    delete_service = staticmethod(services.node_rating_delete)
