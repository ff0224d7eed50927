"""Property tests: cleaning never raises, is idempotent, and is fast on adversarial input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.cleaning import clean_text, warm_up
from agents.cleaning.repair import _MOJIBAKE_HINT, _may_be_mis_decoded

# Pieces that exercise every rule: markup, references, invisible characters, mojibake,
# captions and credits, lexicon phrases, sentence and paragraph breaks.
PIECES = [
    "<p>",
    "</p>",
    "<br>",
    "<br/>",
    "<div class='x'>",
    "</div>",
    "<b>",
    "</b>",
    "<script>var a = 1;</script>",
    "<style>p{}</style>",
    "<!--",
    "-->",
    "<!-- note -->",
    "<figure><figcaption>Photo: AFP</figcaption></figure>",
    "<html>",
    "<body>",
    "<!DOCTYPE html>",
    "<p",
    ">",
    "<",
    "&",
    "&amp;",
    "&amp;amp;",
    "&lt;p&gt;",
    "&#38;",
    "&#38;lt;",
    "&shy;",
    "&nbsp;",
    "&#8203;",
    "&bogus;",
    "&am",
    "p;",
    "\u00ad",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",
    "\x00",
    "\x07",
    "\x1b[31m",
    "\r\n",
    "\r",
    "\u2028",
    "\u2029",
    "\t",
    "\u00a0",
    "\u3000",
    "’",
    "l’",
    "´",
    "«",
    "»",
    "“",
    "”",
    "Ã©",
    "â€™",
    "Ð¿Ñ€Ð¸",
    "\ufffd",
    "e\u0301",
    "|",
    " | ",
    " | AFP ",
    " | SPUTNIK / VIA AFP-JIJI ",
    "REUTERS/Jane Doe",
    "(AP Photo/John Doe)",
    "(Photo: AFP)",
    "© AFP",
    "Photo:",
    "Foto: dpa",
    "Share",
    "Share Post:",
    "Stay Connected",
    "More Updates",
    "You might also enjoy",
    "Read more:",
    "Related",
    "Advertisement",
    "Subscribe now",
    "ABONNEZ-VOUS MAINTENANT",
    "GALERIE PHOTO",
    "(CLIQUEZ POUR AGRANDIR)",
    "Lesen Sie auch:",
    "点击查看大图",
    "责任编辑：",
    "相关阅读",
    "اقرأ أيضا",
    "Читайте также:",
    "Headline",
    "The minister said",
    "on Tuesday",
    "that the plan would go ahead",
    "Paris",
    "le président",
    "a",
    "B",
    "x",
    "1",
    ".",
    ". ",
    "?",
    "!",
    ",",
    ":",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\n\n\n",
]

pieces = st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=40).map("".join)
bodies = st.one_of(st.text(max_size=400), pieces)
headlines = st.one_of(st.none(), st.text(max_size=60), pieces)
body_types = st.sampled_from([None, "text/plain", "text/html", "application/xhtml+xml", "text/markdown", ""])


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_up()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headline=headlines, body=st.one_of(st.none(), bodies), body_type=body_types)
def test_never_raises_and_returns_clean_shape(headline: str | None, body: str | None, body_type: str | None) -> None:
    clean = clean_text(headline, body, body_type)
    assert isinstance(clean.headline, str) and isinstance(clean.body, str)
    assert "\n" not in clean.headline
    assert "\n\n\n" not in clean.body and clean.body == clean.body.strip()
    for paragraph in clean.body.split("\n\n") if clean.body else []:
        assert paragraph and "\n" not in paragraph and "  " not in paragraph
    for removal in clean.removed:
        assert removal.reason and removal.reason.replace("_", "").isalpha() and removal.reason.islower()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headline=headlines, body=bodies, body_type=body_types)
def test_idempotent(headline: str | None, body: str, body_type: str | None) -> None:
    first = clean_text(headline, body, body_type)
    for again_type in (None, "text/plain"):
        second = clean_text(first.headline, first.body, again_type)
        assert (second.headline, second.body) == (first.headline, first.body)
        assert second.removed == []


MIB = 1024 * 1024
ADVERSARIAL = {
    "single_token_2mib": "a" * (2 * MIB),
    "single_cjk_token": "中" * (MIB // 2),
    "nested_tags_100k": "<div>" * 100_000 + "text" + "</div>" * 100_000,
    "nested_tags_100k_page": "<html><body>" + "<div>" * 100_000 + "text" + "</div>" * 100_000 + "</body></html>",
    "unclosed_tags": "<p " * 300_000,
    "open_comments": "<!--" * 300_000,
    "entity_chain": "&" + "amp;" * 300_000 + "lt;",
    "pipe_credits": "Caption | AFP " * 100_000,
    "pipes": "| " * 500_000,
    "open_parens": "(" * (2 * MIB),
    "bracketed_credits": "(Photo: AFP) " * 100_000,
    "whitespace": " \n\t\u00a0" * (MIB // 2),
    "joiners": "a\u200c " * (MIB // 3),
    "mojibake": "Ã©" * MIB,
    "mojibake_lines": "Ã© caf\n" * 100_000,
    "lexicon_lines": "Share\n\n" * 100_000,
    "short_lines": "word\n" * 200_000,
    "angle_brackets": "<a" * MIB,
    "sentence_ends": ". " * MIB,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_bounded_time_on_adversarial_input(name: str) -> None:
    body = ADVERSARIAL[name]
    started = time.process_time()
    for body_type in (None, "text/html"):
        clean_text("Headline", body, body_type)
    # CPU time, so a loaded machine does not fail it: measured well under 2 s each (docs/cleaning.md).
    assert time.process_time() - started < 20


# Characters on both sides of each of the mis-decoding tests' boundaries: the lead letters
# Â..ô and their neighbours, cp1252/cp1251 high characters, C1 controls, surrogates, U+FFFD.
_DECODING_ALPHABET = st.sampled_from(
    [
        *"aé\u00c1\u00c2\u00c3\u00e9\u00f4\u00f5\u0420\u0421\u0422\u0401\u0451\u2019\u201c\u20ac\u2122\u2116",
        *("\u0080", "\u009f", "\u00a0", "\u00bf", "\u00c0", "\ud800", "\udfff", "\ufffd", "\x1b", "\n", " "),
    ]
)


@given(st.lists(_DECODING_ALPHABET, max_size=12).map("".join))
@settings(max_examples=3000, deadline=None)
def test_the_cheap_mis_decoding_check_answers_as_the_full_pattern(text: str) -> None:
    assert _may_be_mis_decoded(text) == (_MOJIBAKE_HINT.search(text) is not None)
