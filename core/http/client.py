"""The caller's address, believed from X-Forwarded-For only when our own load balancer says it.

Anyone can send X-Forwarded-For. The header is read only when the request reached us from a
trusted proxy (``TRUSTED_PROXY_NETWORKS``: the load balancer's subnets), and then from the
right: the first hop that is not itself a trusted proxy is the client, because everything to
its left was written by the client and proves nothing. Nothing trusted, the default: the
socket's address is the client.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXY_NETWORKS: {exc}") from exc


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The address throttles count and audit rows record for this request."""
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # not an address: our proxy did not write it
    return remote
