from django.urls import path

from core.api.routers import router

from . import views as v

router.register("workspaces", v.WorkspaceViewSet)
router.register("roles", v.RoleViewSet)
router.register("memberships", v.MembershipViewSet)
router.register("invitations", v.InvitationViewSet)
router.register("projects", v.ProjectViewSet)
router.register("project-versions", v.ProjectVersionViewSet)
router.register("project-collaborators", v.ProjectCollaboratorViewSet)
router.register("project-comments", v.ProjectCommentViewSet)
router.register("activities", v.ActivityViewSet)
router.register("workspace-features", v.WorkspaceFeatureViewSet)
router.register("tags", v.TagViewSet)
router.register("files", v.FileViewSet)
router.register("secrets", v.SecretViewSet)
router.register("secret-accesses", v.SecretAccessViewSet)
router.register("api-keys", v.ApiKeyViewSet)

urlpatterns = [
    path("invitations/accept/", v.AcceptInvitationView.as_view(), name="invitation-accept"),
    path("invitations/decline/", v.DeclineInvitationView.as_view(), name="invitation-decline"),
]
