"""DNS TXT lookups for domain verification, behind an injectable resolver.

`FEDERATION_DNS_RESOLVER_FACTORY` names a callable returning an object with dnspython's
`resolve(name, "TXT")`; tests point it at a fake, so no test touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.resolver
from django.utils.module_loading import import_string

from federation.app_settings import app_settings


def default_resolver() -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver()
    resolver.lifetime = app_settings.DNS_TIMEOUT_SECONDS
    return resolver


@dataclass(frozen=True)
class TxtLookup:
    """The TXT strings at a name, or `problem`: why there are none, in plain words."""

    records: tuple[str, ...] = ()
    problem: str = ""


def txt_records(domain: str) -> TxtLookup:
    """The TXT records published at `domain` (each record's strings joined, as RFC 7208 §3.3 does)."""
    try:
        # Inside the try: building a resolver reads /etc/resolv.conf, which may be missing.
        answer = import_string(app_settings.DNS_RESOLVER_FACTORY)().resolve(domain, "TXT")
    except dns.resolver.NXDOMAIN:
        return TxtLookup(problem=f"The domain {domain} does not exist in DNS.")
    except dns.resolver.NoAnswer:
        return TxtLookup(problem=f"{domain} has no TXT records yet.")
    except dns.exception.Timeout:
        return TxtLookup(problem=f"The DNS lookup of {domain} timed out; try again in a minute.")
    except dns.resolver.NoNameservers:
        return TxtLookup(problem=f"No name server answered for {domain}; try again later.")
    except dns.exception.DNSException as exc:
        return TxtLookup(problem=f"The DNS lookup of {domain} failed ({exc.__class__.__name__}).")
    records = []
    for rdata in answer:
        strings = getattr(rdata, "strings", ())
        records.append(b"".join(strings).decode("utf-8", "replace"))
    return TxtLookup(records=tuple(records))
