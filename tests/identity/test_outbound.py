"""The one rule for URLs this server calls (identity/outbound.py)."""

from __future__ import annotations

import pytest

from identity.outbound import outbound_url_problem


def problem(url, *, loopback=False, query=True):
    return outbound_url_problem(
        url, allow_http_loopback=loopback, allow_query=query, example="https://x.example"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/keys",
        "https://127.1/keys",
        "https://2130706433/keys",
        "https://0x7f000001/keys",
        "https://0177.0.0.1/keys",
        "https://10.0.0.1./keys",
        "https://localhost/keys",
        "https://LOCALHOST./keys",
        "https://[::1]/keys",
        "https://169.254.169.254/latest/meta-data",
        "https://[fe80::1]/keys",
        "https://0.0.0.0/keys",
        "https://192.168.1.10/keys",
    ],
)
def test_internal_addresses_are_refused_however_written(url):
    assert "internal" in problem(url)


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("http://login.example.com", "Use https"),
        ("ftp://login.example.com", "Use https"),
        ("https://user:pw@login.example.com", "user name"),
        ("https://login.example.com/#frag", "fragment"),
        ("/relative", "full URL"),
        ("https://" + "a" * 2001 + ".com", "too long"),
    ],
)
def test_other_refusals(url, text):
    assert text in problem(url)


def test_queries_only_where_allowed_and_public_https_passes():
    assert problem("https://login.example.com/keys?x=1") == ""
    assert "query" in problem("https://login.example.com/keys?x=1", query=False)
    assert problem("https://8.8.8.8/keys") == ""


def test_plain_http_only_to_loopback_and_only_when_allowed():
    assert problem("http://127.0.0.1:8080/keys", loopback=True) == ""
    assert problem("http://localhost:8080/keys", loopback=True) == ""
    assert problem("http://127.0.0.1:8080/keys") == "Use https."
    assert problem("http://10.0.0.1/keys", loopback=True) == "Use https."


@pytest.mark.parametrize("url", ["https://100.100.100.200/latest/meta-data", "https://[2002:7f00:1::]/x"])
def test_addresses_that_are_not_globally_routable_are_refused(url):
    # Shared address space (100.64.0.0/10: carrier-grade NAT, a cloud's metadata service) and
    # 6to4 embedding 127.0.0.1.
    assert "internal" in problem(url)
