"""Session authentication that answers 401 (with a challenge) rather than 403."""

from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication


class SessionAuthentication(DRFSessionAuthentication):
    def authenticate_header(self, request) -> str:
        # DRF turns "not authenticated" into 403 when the first authenticator
        # offers no challenge; clients must be able to tell 401 from 403.
        return 'Session realm="api"'
