"""IPAM address arithmetic: spans, keys, overlap, next free address and prefix, reverse names."""

from __future__ import annotations

import pytest

from central.ipam import addresses as ad
from central.ipam.addresses import Span
from central.ipam.schemas import Source
from central.ipam.usage import disagreements
from services.common.errors import ValidationError


def span(prefix: str) -> Span:
    return ad.parse_prefix(prefix, "prefix")


def test_keys_order_like_the_numbers_they_stand_for() -> None:
    values = [0, 1, 255, 256, 2**32 - 1, 2**32, 2**127, 2**128 - 1]
    assert sorted(values, key=ad.key) == values
    assert all(len(ad.key(v)) == 32 and ad.from_key(ad.key(v)) == v for v in values)


def test_prefixes_and_ranges_parse_and_refuse_nonsense() -> None:
    block = span("10.1.0.0/16")
    assert (block.family, block.size) == (4, 65536)
    assert ad.prefix_text(block) == "10.1.0.0/16"
    assert ad.prefix_text(span("2001:db8::/32")) == "2001:db8::/32"
    with pytest.raises(ValidationError) as bits:
        ad.parse_prefix("10.1.0.1/16", "prefix")
    assert bits.value.field == "prefix" and "host bits" in bits.value.message
    with pytest.raises(ValidationError) as wrong:
        ad.parse_range("10.0.0.9", "10.0.0.1")
    assert wrong.value.field == "end"
    with pytest.raises(ValidationError) as mixed:
        ad.parse_range("10.0.0.1", "2001:db8::1")
    assert mixed.value.field == "end"
    with pytest.raises(ValidationError) as bad:
        ad.parse_range("10.0.0.300", "10.0.1.0")
    assert bad.value.field == "start"


def test_containment_and_overlap() -> None:
    outer, inner = span("10.0.0.0/8"), span("10.1.0.0/16")
    assert outer.contains(inner) and not inner.contains(outer)
    assert outer.overlaps(inner) and inner.overlaps(outer)
    assert not span("10.1.0.0/16").overlaps(span("10.2.0.0/16"))
    touching = ad.parse_range("10.1.255.255", "10.2.0.0")
    assert touching.overlaps(span("10.1.0.0/16")) and touching.overlaps(span("10.2.0.0/16"))
    # the families never overlap, even with the same integers
    assert not Span(4, 0, 10).overlaps(Span(6, 0, 10))


def test_first_gap_skips_used_addresses() -> None:
    rng = ad.parse_range("10.0.0.1", "10.0.0.5")
    first = rng.first
    assert ad.first_gap(rng, []) == first
    assert ad.first_gap(rng, [first, first + 1, first + 3]) == first + 2
    assert ad.first_gap(rng, range(first, first + 5)) is None
    assert ad.first_gap(rng, [first + 4], start=first + 4) is None
    assert ad.first_gap(rng, [first - 1, first]) == first + 1  # outside addresses ignored


def test_next_free_prefix_is_aligned_and_skips_children() -> None:
    block = span("10.0.0.0/16")
    assert ad.next_free_prefix(block, 24, []) == span("10.0.0.0/24")
    children = [span("10.0.0.0/24"), ad.parse_range("10.0.1.10", "10.0.1.20")]
    assert ad.next_free_prefix(block, 24, children) == span("10.0.2.0/24")
    assert ad.next_free_prefix(block, 23, children) == span("10.0.2.0/23")
    assert ad.next_free_prefix(block, 16, children) is None
    assert ad.next_free_prefix(block, 17, children) == span("10.0.128.0/17")
    full = [span("10.0.0.0/17"), span("10.0.128.0/17")]
    assert ad.next_free_prefix(block, 30, full) is None
    v6 = span("2001:db8::/48")
    assert ad.next_free_prefix(v6, 64, [span("2001:db8::/64")]) == span("2001:db8:0:1::/64")


def test_reverse_names_both_ways() -> None:
    family, value = ad.parse_address("198.51.100.7", "address")
    assert ad.reverse_name(family, value) == "7.100.51.198.in-addr.arpa."
    assert ad.from_reverse_name("7.100.51.198.IN-ADDR.ARPA.") == (4, value)
    family6, value6 = ad.parse_address("2001:db8::1", "address")
    assert ad.from_reverse_name(ad.reverse_name(family6, value6)) == (6, value6)
    assert ad.from_reverse_name("5.0/26.100.51.198.in-addr.arpa.") is None
    assert ad.from_reverse_name("100.51.198.in-addr.arpa.") is None
    assert ad.from_reverse_name("www.example.") is None


def test_filters_for_dns_rows() -> None:
    assert ad.text_prefix(span("10.1.0.0/16")) == "10.1."
    assert ad.text_prefix(span("10.0.0.0/8")) == "10."
    assert ad.text_prefix(ad.parse_range("10.0.0.1", "10.0.0.9")) == "10.0.0."
    assert ad.text_prefix(span("0.0.0.0/0")) == ""
    assert ad.reverse_suffix(span("10.1.0.0/16")) == "1.10.in-addr.arpa."
    assert ad.reverse_suffix(span("2001:db8::/32")) == "8.b.d.0.1.0.0.2.ip6.arpa."


def test_disagreements_between_sources() -> None:
    a = Source(kind="a", name="www.example.")
    ptr = Source(kind="ptr", name="x", data="WWW.example.")
    other = Source(kind="ptr", name="x", data="mail.example.")
    assert disagreements([a]) == ["a-without-ptr"]
    assert disagreements([ptr]) == ["ptr-without-a"]
    assert disagreements([a, ptr]) == []
    assert disagreements([a, other]) == ["ptr-mismatch"]
    reserved = Source(kind="reservation", hw_address="02:00:00:00:00:01")
    mine = Source(kind="lease", hw_address="02-00-00-00-00-01")
    theirs = Source(kind="lease", hw_address="02:00:00:00:00:02")
    assert disagreements([reserved, mine]) == []
    assert disagreements([reserved, theirs]) == ["lease-on-reserved"]
