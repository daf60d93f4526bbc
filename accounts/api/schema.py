"""OpenAPI description of our token authentication (imported at app start)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from core.api.schema import SessionScheme as CoreSessionScheme


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` from `POST /api/v1/auth/login/`.",
        }


class SessionScheme(CoreSessionScheme):
    """The API's session class (held to the second-factor rule) documented like core's."""

    target_class = "accounts.authentication.SessionAuthentication"
