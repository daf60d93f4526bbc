from django.urls import path

from core.api.routers import router

from . import auth_views as auth
from .variables import UserVariableViewSet
from .views import LoginAttemptViewSet, SessionViewSet, UserViewSet

router.register("users", UserViewSet)
router.register("login-attempts", LoginAttemptViewSet)
router.register("auth/sessions", SessionViewSet)
router.register("user-variables", UserVariableViewSet)

urlpatterns = [
    path("auth/register/", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/verify-email/", auth.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/resend-verification/", auth.ResendVerificationView.as_view(),
         name="auth-resend-verification"),
    path("auth/login/", auth.LoginView.as_view(), name="auth-login"),
    path("auth/refresh/", auth.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", auth.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/me/", auth.MeView.as_view(), name="auth-me"),
    path("auth/change-password/", auth.ChangePasswordView.as_view(),
         name="auth-change-password"),
    path("auth/forgot-password/", auth.ForgotPasswordView.as_view(),
         name="auth-forgot-password"),
    path("auth/reset-password/", auth.ResetPasswordView.as_view(), name="auth-reset-password"),
    path("auth/2fa/totp/", auth.TotpEnrolView.as_view(), name="auth-2fa-enrol"),
    path("auth/2fa/totp/confirm/", auth.TotpConfirmView.as_view(), name="auth-2fa-confirm"),
    path("auth/2fa/backup-codes/", auth.BackupCodesView.as_view(), name="auth-2fa-backup-codes"),
    path("auth/2fa/disable/", auth.TwoFactorDisableView.as_view(), name="auth-2fa-disable"),
]
