"""Throttles for the sign-in and recovery endpoints: per client IP and per account."""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from core.net import client_ip


class AuthIPThrottle(SimpleRateThrottle):
    scope = "auth_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class AuthAccountThrottle(SimpleRateThrottle):
    """Keyed on the email in the body, so one account cannot be hammered from many IPs."""

    scope = "auth_account"

    def get_cache_key(self, request, view):
        try:
            email = request.data.get("email")
        except AttributeError:
            return None
        if not isinstance(email, str) or not email.strip():
            return None
        # Hashed: any text is a safe, fixed-length cache key. "surrogatepass": JSON may
        # carry lone surrogates ("\ud800"), which strict UTF-8 refuses to encode.
        ident = hashlib.sha256(email.strip().lower().encode(errors="surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


AUTH_THROTTLES = [AuthIPThrottle, AuthAccountThrottle]
