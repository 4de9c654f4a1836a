"""The DNS records a shop publishes for its support addresses, and how its mail reaches us.

Honest starters, not a DNS checker: SPF authorises the hosts our replies leave through (the
address's outgoing server, else the system's EMAIL_HOST); DMARC starts in monitoring mode
(`p=none`) with reports to a mailbox that is not a support address (reports would otherwise
become tickets); DKIM is the key of the shop's SMTP provider, since Madoguchi signs nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext

from madoguchi.connectors.mail.models import MailAddress
from madoguchi.connectors.mail.smtpd import DEFAULT_HOST, DEFAULT_PORT

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    value: str


@dataclass(frozen=True)
class SenderDomain:
    """The records of one domain the shop's addresses belong to."""

    domain: str
    addresses: list[str]
    spf: DnsRecord
    dmarc: DnsRecord
    dkim_name: str
    outbound_hosts: list[str]
    has_local_server: bool


@dataclass(frozen=True)
class Receiver:
    """Where the built-in SMTP receiver (`madoguchi smtpd`) takes mail."""

    public_host: str
    listen_host: str = DEFAULT_HOST
    listen_port: int = DEFAULT_PORT


@dataclass(frozen=True)
class InboundGuide:
    """How mail to one address reaches us; `mx` is set for the SMTP receiver only."""

    address: MailAddress
    mx: DnsRecord | None


def _outbound_host(address: MailAddress) -> str:
    server = address.outbound_server
    if server is not None and server.is_active:
        return server.host
    return str(settings.EMAIL_HOST)


def _spf_mechanism(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"a:{host}"
    return f"ip{ip.version}:{ip}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def sender_domains(addresses: Sequence[MailAddress]) -> list[SenderDomain]:
    """Return the SPF, DMARC and DKIM guidance per domain of the shop's addresses."""
    by_domain: dict[str, list[MailAddress]] = {}
    for address in addresses:
        by_domain.setdefault(domain_of(address.address), []).append(address)
    domains = []
    for domain, members in sorted(by_domain.items()):
        hosts = sorted({_outbound_host(address) for address in members})
        mechanisms: list[str] = []
        has_local_server = False
        for host in hosts:
            if is_loopback(host):
                has_local_server = True
                mechanism = "ip4:" + gettext("<public IP address of this server>")
            else:
                mechanism = _spf_mechanism(host)
            if mechanism not in mechanisms:
                mechanisms.append(mechanism)
        domains.append(
            SenderDomain(
                domain=domain,
                addresses=[address.address for address in members],
                spf=DnsRecord(
                    name=f"{domain}.", type="TXT", value=f"v=spf1 {' '.join(mechanisms)} ~all"
                ),
                dmarc=DnsRecord(
                    name=f"_dmarc.{domain}.",
                    type="TXT",
                    value=f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}",
                ),
                dkim_name=f"<selector>._domainkey.{domain}.",
                outbound_hosts=hosts,
                has_local_server=has_local_server,
            )
        )
    return domains


def receiver(*, public_host: str) -> Receiver:
    """Return where the SMTP receiver listens; `public_host` is the name this server is reached
    by (the page's own host, without a port): the only name we know for it."""
    if public_host.startswith("["):  # an IPv6 literal, "[::1]:8000"
        host = public_host[1:].partition("]")[0]
    else:
        host = public_host.partition(":")[0]
    return Receiver(public_host=host or "localhost")


def inbound_guides(addresses: Sequence[MailAddress], receiver: Receiver) -> list[InboundGuide]:
    """Return each address with the MX record its domain needs to reach the SMTP receiver."""
    guides = []
    for address in addresses:
        mx = None
        if address.inbound_method == MailAddress.InboundMethod.SMTP:
            domain = domain_of(address.address)
            mx = DnsRecord(name=f"{domain}.", type="MX", value=f"10 {receiver.public_host}.")
        guides.append(InboundGuide(address=address, mx=mx))
    return guides
