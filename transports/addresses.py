"""Peer addresses as people write them: ``HOST:PORT``, ``[V6]:PORT``, an IPv4 or a host name.

Owns parsing and printing of :data:`~transports.base.Address` (``--peer`` values, logs).  Pure
string work: it never resolves a name or opens a socket (``UdpTransport.resolve`` does that).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from transports.base import Address, AddressError

__all__ = ["MAX_PORT", "format_address", "parse_address"]

MAX_PORT: Final = 65_535

_LABEL: Final = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_PORT: Final = re.compile(r"[0-9]{1,5}\Z")
_MAX_HOSTNAME: Final = 253


def parse_address(text: str, default_port: int | None = None) -> Address:
    """Parse ``HOST:PORT`` (IPv4 or host name), ``[IPV6]:PORT``, or a bare host when
    ``default_port`` is given; return ``(host, port)`` with the host in canonical form.

    Raises :class:`AddressError` naming what is wrong.
    """
    if default_port is not None:
        _check_port(default_port, text)
    spec = text.strip()
    if not spec:
        raise AddressError("empty address; expected HOST:PORT")
    if spec.startswith("["):
        close = spec.find("]")
        if close < 0:
            raise AddressError(f"{text!r}: '[' without a closing ']'")
        host = _ipv6(spec[1:close], text)
        rest = spec[close + 1 :]
        if not rest:
            return host, _default(default_port, text)
        if not rest.startswith(":"):
            raise AddressError(f"{text!r}: expected ':PORT' after ']', got {rest!r}")
        return host, _port(rest[1:], text)
    if spec.count(":") > 1:
        host = _ipv6(spec, text, "neither HOST:PORT nor an IPv6 address")
        return host, _default(default_port, text, f"write a port as [{host}]:PORT")
    host_part, colon, port_part = spec.partition(":")
    host = _host(host_part, text)
    if not colon:
        return host, _default(default_port, text)
    return host, _port(port_part, text)


def format_address(address: Address) -> str:
    """``HOST:PORT``, with an IPv6 host in brackets: the inverse of :func:`parse_address`."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ipv6(host: str, text: str, what: str = "not an IPv6 address") -> str:
    address, _, scope = host.partition("%")
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError:
        raise AddressError(f"{text!r}: {host!r} is {what}") from None
    if scope and not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", scope):
        raise AddressError(f"{text!r}: {scope!r} is not an interface name or number")
    return f"{parsed.compressed}%{scope}" if scope else parsed.compressed


def _host(host: str, text: str) -> str:
    if not host:
        raise AddressError(f"{text!r}: missing host before ':'")
    labels = host.lower().removesuffix(".").split(".")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise AddressError(f"{text!r}: {host!r} is not an IPv4 address") from None
    name = ".".join(labels)
    if len(name) > _MAX_HOSTNAME or not all(_LABEL.match(label) for label in labels):
        raise AddressError(
            f"{text!r}: {host!r} is not a host name (letters, digits and '-' in dot-separated "
            f"labels of 1-63 characters, {_MAX_HOSTNAME} at most)"
        )
    return name


def _port(port: str, text: str) -> int:
    if not _PORT.match(port):
        raise AddressError(f"{text!r}: port {port!r} is not a number from 1 to {MAX_PORT}")
    value = int(port)
    _check_port(value, text)
    return value


def _check_port(port: int, text: str) -> None:
    if not 1 <= port <= MAX_PORT:
        raise AddressError(f"{text!r}: port {port} is not in 1..{MAX_PORT}")


def _default(default_port: int | None, text: str, hint: str = "") -> int:
    if default_port is None:
        raise AddressError(f"{text!r}: missing ':PORT'" + (f" ({hint})" if hint else ""))
    return default_port
