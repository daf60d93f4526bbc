"""``Authorization: Api-Key <prefix>.<secret>``: act as a workspace key with its role."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from workspaces.services.keys import KEY_SCHEME, api_key_authenticate


class KeyUser:
    """Stands in for ``request.user`` under an API key: no Django permissions at all."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = id = None

    def __init__(self, key):
        self.key = key

    def __str__(self) -> str:
        return f"API key {self.key.prefix} ({self.key.workspace})"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def has_module_perms(self, app_label) -> bool:
        return False


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() != KEY_SCHEME.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed API key header.")
        key = api_key_authenticate(header[1].decode(errors="replace"))
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        return KeyUser(key), key

    def authenticate_header(self, request) -> str:
        return KEY_SCHEME
