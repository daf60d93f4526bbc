"""Client address behind a known number of trusted reverse proxies."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """The client's IP, trusting ``X-Forwarded-For`` only as far as configured.

    Each trusted proxy appends the address it received from, so with N proxies
    the client is the N-th entry from the right.  Entries further left are
    written by the client and may be forged.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        chain = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        chain = [p for p in chain if p]
        if len(chain) >= hops:
            remote = chain[-hops]
    return _valid_ip(remote)


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
