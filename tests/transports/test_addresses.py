"""Tests for transports/addresses.py: ``--peer`` values in, canonical ``(host, port)`` out."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transports.addresses import format_address, parse_address
from transports.base import AddressError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:47187", ("127.0.0.1", 47187)),
        ("  10.0.0.7:1  ", ("10.0.0.7", 1)),
        ("node-3.lan:65535", ("node-3.lan", 65535)),
        ("Node-3.LAN.:9000", ("node-3.lan", 9000)),
        ("localhost:80", ("localhost", 80)),
        ("[::1]:47187", ("::1", 47187)),
        ("[2001:DB8:0:0::1]:5", ("2001:db8::1", 5)),
        ("[fe80::1%eth0]:5", ("fe80::1%eth0", 5)),
    ],
)
def test_valid_addresses_parse_to_canonical_form(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.168.1.2", ("192.168.1.2", 47187)),
        ("peer.example", ("peer.example", 47187)),
        ("[::1]", ("::1", 47187)),
        ("::1", ("::1", 47187)),
    ],
)
def test_default_port_fills_a_missing_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text, default_port=47187) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty address"),
        ("127.0.0.1", "missing ':PORT'"),
        ("::1", r"write a port as \[::1\]:PORT"),
        (":80", "missing host"),
        ("127.0.0.1:", "port '' is not a number"),
        ("127.0.0.1:0", "port 0 is not in 1..65535"),
        ("127.0.0.1:65536", "port 65536 is not in"),
        ("127.0.0.1:+80", "port '\\+80' is not a number"),
        ("127.0.0.1:8 0", "is not a number"),
        ("127.0.0.1:80:90", "neither HOST:PORT nor an IPv6 address"),
        ("256.0.0.1:80", "'256.0.0.1' is not an IPv4 address"),
        ("1.2.3:80", "'1.2.3' is not an IPv4 address"),
        ("01.2.3.4:80", "is not an IPv4 address"),
        ("under_score:80", "is not a host name"),
        ("-lead.example:80", "is not a host name"),
        ("double..dot:80", "is not a host name"),
        ("x" * 64 + ":80", "is not a host name"),
        ("[::1:80", "without a closing"),
        ("[::1]80", "expected ':PORT' after"),
        ("[127.0.0.1]:80", "is not an IPv6 address"),
        ("[::g]:80", "is not an IPv6 address"),
        ("[fe80::1%bad scope]:80", "is not an interface"),
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        parse_address(text)


def test_a_bad_default_port_is_refused() -> None:
    with pytest.raises(AddressError, match="port 0"):
        parse_address("peer:1", default_port=0)


ports = st.integers(1, 65_535)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda a: ipaddress.IPv6Address(a).compressed)
labels = st.from_regex(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)
hostnames = st.lists(labels, min_size=1, max_size=4).map(".".join).filter(lambda h: len(h) <= 253)


@given(host=st.one_of(ipv4, ipv6, hostnames), port=ports)
def test_format_then_parse_is_the_identity(host: str, port: int) -> None:
    assert parse_address(format_address((host, port))) == (host, port)


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_address_error(text: str) -> None:
    try:
        host, port = parse_address(text)
    except AddressError:
        return
    assert 1 <= port <= 65_535
    assert parse_address(format_address((host, port))) == (host, port)
