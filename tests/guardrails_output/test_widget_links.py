"""The widget makes a link clickable only to its page's site, the chat server's or the
lender's domains (from the welcome frame); any other address stays plain text. The
widget's own link functions run in Node with a minimal DOM."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

WIDGET = Path(__file__).resolve().parents[2] / "web" / "static" / "widget.js"
NODE = shutil.which("node") or shutil.which("nodejs")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js")


def _function(source: str, name: str) -> str:
    match = re.search(rf"\n  function {name}\(.*?\n  }}\n", source, re.DOTALL)
    assert match, f"widget.js has no function {name}"
    return match.group(0)


def render(texts: list[str], page: str, server: str, domains: list[str]) -> list[list[dict]]:
    """What ``renderText`` puts in a message bubble: text pieces and links."""
    source = WIDGET.read_text(encoding="utf-8")
    link_pattern = re.search(r"\n  var LINK = .*;\n", source)
    assert link_pattern
    script = "\n".join(
        [
            f"var window = {{location: new URL({json.dumps(page)})}};",
            f"var base = new URL({json.dumps(server)});",
            f"var linkDomains = {json.dumps(domains)};",
            "var document = {createTextNode: function (t) { return {text: t}; }};",
            "function el(tag, attrs) { return {tag: tag, attrs: attrs}; }",
            link_pattern.group(0),
            _function(source, "linkAllowed"),
            _function(source, "renderText"),
            f"var texts = {json.dumps(texts)};",
            "console.log(JSON.stringify(texts.map(function (t) {",
            "  var node = {children: [], appendChild: function (c) { this.children.push(c); }};",
            "  renderText(node, t);",
            "  return node.children;",
            "})));",
        ]
    )
    done = subprocess.run(
        [NODE, "-e", script], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout)


def hrefs(pieces: list[dict]) -> list[str]:
    return [p["attrs"]["href"] for p in pieces if p.get("tag") == "a"]


def test_only_links_to_our_sites_and_the_lenders_domains_are_clickable() -> None:
    allowed = [
        "https://harborcf.example/help",
        "https://www.harborcf.example/login",
        "https://bank.example/account",  # the page's own site
        "https://chat.example.net/pay/Zx9-Qp_4kT2m",  # the chat server's (payment links)
        "https://HARBORCF.EXAMPLE./faq",
    ]
    refused = [
        "http://evil.example/pay",
        "https://harborcf.example.evil.com/pay",
        "https://evilharborcf.example/pay",
        "https://harborcf.example@evil.com/pay",
        "https://user:pw@harborcf.example/pay",
        "https://evil.com\\@harborcf.example/pay",
        "https://h\u0430rborcf.example/pay",
        "https://chat.example.net.evil.com/pay",
        "http://bank.example:8080/other-port",
    ]
    texts = [f"Go to {url} now" for url in allowed + refused]
    shown = render(
        texts, "https://bank.example/", "https://chat.example.net/widget.js", ["harborcf.example"]
    )
    for url, pieces in zip(allowed, shown[: len(allowed)], strict=True):
        assert hrefs(pieces) == [url], url
        link = next(p for p in pieces if p.get("tag") == "a")
        assert link["attrs"]["rel"] == "noopener noreferrer" and link["attrs"]["target"] == "_blank"
    for text, pieces in zip(texts[len(allowed) :], shown[len(allowed) :], strict=True):
        assert hrefs(pieces) == [], text
        assert "".join(p.get("text", "") for p in pieces) == text  # all of it, as plain text


def test_without_lender_domains_only_our_own_sites_are_clickable() -> None:
    texts = ["See https://harborcf.example/help", "Pay at http://127.0.0.1:8000/pay/abc"]
    shown = render(texts, "http://127.0.0.1:8000/", "http://127.0.0.1:8000/widget.js", [])
    assert hrefs(shown[0]) == []
    assert hrefs(shown[1]) == ["http://127.0.0.1:8000/pay/abc"]
