"""Unit tests of the clean stage: each path, each repair, each boilerplate rule."""

from __future__ import annotations

import pytest

from agents.cleaning import clean_text, warm_up
from agents.cleaning.repair import has_markup, repair, repair_inline, strip_markup
from agents.cleaning.segment import paragraphs, sentences


def reasons(clean: object) -> list[str]:
    return [r.reason for r in clean.removed]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- input kinds


def test_none_and_empty() -> None:
    for headline, body in ((None, None), ("", ""), ("  ", " \n\t ")):
        clean = clean_text(headline, body)
        assert (clean.headline, clean.body, clean.removed) == ("", "", [])


def test_plain_text_paragraphs_kept() -> None:
    body = "First paragraph here.\n\nSecond paragraph, which goes on.\n\n\n\nThird."
    assert (
        clean_text("H", body, "text/plain").body
        == "First paragraph here.\n\nSecond paragraph, which goes on.\n\nThird."
    )


def test_plain_text_without_blank_lines_is_one_paragraph_a_line() -> None:
    assert clean_text(None, "One.\nTwo.\nThree.").body == "One.\n\nTwo.\n\nThree."


def test_hard_wrapped_lines_are_joined() -> None:
    body = "The minister said on\nTuesday that the plan\nwould go ahead.\n\nNext paragraph."
    assert paragraphs(repair(body)) == [
        "The minister said on",
        "Tuesday that the plan would go ahead.",
        "Next paragraph.",
    ]


def test_html_fragment_structure_scripts_comments_entities() -> None:
    body = (
        "<p>Hello &amp; welcome to <b>Paris</b>.</p><script>var x = 1;</script><!-- hidden -->"
        "<style>p { color: red }</style><p>Second&nbsp;paragraph.<br>New line.</p><ul><li>One</li><li>Two</li></ul>"
    )
    clean = clean_text("H", body, "text/html")
    assert clean.body == "Hello & welcome to Paris.\n\nSecond paragraph.\n\nNew line.\n\nOne\n\nTwo"
    assert "var x" not in clean.body and "hidden" not in clean.body and "color" not in clean.body


def test_html_fragment_sniffed_without_declared_type() -> None:
    assert clean_text(None, "<p>One.</p><p>Two.</p>").body == "One.\n\nTwo."


def test_declared_plain_text_with_tags_is_still_cleaned() -> None:
    assert clean_text(None, "<p>One.</p><p>Two.</p>", "text/plain").body == "One.\n\nTwo."


def test_text_with_angle_brackets_is_not_markup() -> None:
    body = "If a < b and c > d, then 5<6 and <grin> stays."
    assert clean_text(None, body).body == body


def test_figcaption_and_aside_go_to_the_audit() -> None:
    body = (
        "<p>Story text.</p><figure><img src=x><figcaption>A man. Photo: AFP</figcaption></figure><aside>Related</aside>"
    )
    clean = clean_text(None, body, "text/html")
    assert clean.body == "Story text."
    assert [(r.reason, r.text) for r in clean.removed] == [
        ("caption_credit", "A man. Photo: AFP"),
        ("html_boilerplate", "Related"),
    ]


def test_whole_page_goes_through_the_extractor() -> None:
    sentence = "The minister said on Tuesday that the plan would go ahead despite the protests in the capital. "
    page = (
        "<!DOCTYPE html><html><head><title>T</title><script>track()</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>Plan goes ahead</h1><p>{sentence * 3}</p><p>{sentence * 2}</p></article>"
        "<footer>Contact us | Terms of use | Privacy</footer></body></html>"
    )
    clean = clean_text("Plan goes ahead", page, "text/html")
    assert clean.body.startswith("The minister said")
    assert "Home" not in clean.body and "Privacy" not in clean.body and "track()" not in clean.body
    assert "repeated_headline" in reasons(clean) and "html_boilerplate" in reasons(clean)


def test_page_where_the_extractor_finds_nothing_falls_back_to_text() -> None:
    clean = clean_text(None, "<html><body><p>Short.</p></body></html>", "text/html")
    assert clean.body == "Short."


def test_surrogates_and_controls_in_markup_lose_nothing() -> None:
    assert clean_text("h\ud800", "a\ud800b <p>x\udfff</p>").body == "a\ufffdb\n\nx\ufffd"
    assert clean_text(None, "<p>x</p>\x00<p>y \ud83d\ude00</p>", "text/html").body == "x\n\ny \U0001f600"


# --------------------------------------------------------------------------- text repair


@pytest.mark.parametrize(
    ("raw", "fixed"),
    [
        ("It wasnâ€™t pretty", "It wasn't pretty"),  # mojibake
        ("cafÃ© au lait", "café au lait"),
        ("e\u0301te\u0301", "été"),  # NFC
        ("l’appel d’offres", "l'appel d'offres"),  # apostrophe inside a word
        ("« coûts importants »", "« coûts importants »"),  # guillemets kept
        ("“quoted” and ‘single’", "“quoted” and ‘single’"),  # typographic quotes kept
        ("the players’ union", "the players’ union"),  # a ’ not between letters is left alone
        ("zero\u200bwidth", "zerowidth"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bidi \u202eover\u202cride \u2066iso\u2069", "bidi override iso"),
        ("control\x07 char\x00s", "control chars"),
        ("many    spaces\tand\u00a0nbsp", "many spaces and nbsp"),
        ("AT&amp;T and &amp;amp; and &lt;b&gt;bold&lt;/b&gt;", "AT&T and & and bold"),
        ("&bogus; stays", "&bogus; stays"),
        ("Ukrai&shy;ne", "Ukraine"),
        ("fa\u200cmily \u200cjoin", "fa\u200cmily join"),  # ZWNJ kept inside a word only
        ("\x1b[31mred\x1b[0m", "red"),
        ("line\r\nbreaks\rand\u2028more", "line\nbreaks\nand\nmore"),
        ("逗号，句号。", "逗号，句号。"),  # CJK full-width punctuation kept
    ],
)
def test_repair(raw: str, fixed: str) -> None:
    assert repair(raw) == fixed
    assert repair(fixed) == fixed


def test_repair_inline_is_one_line() -> None:
    assert repair_inline("  Two\nlines\r\n here ") == "Two lines here"


def test_markup_helpers() -> None:
    assert has_markup("a <p>b</p>") and has_markup("x <!-- c --> y")
    assert not has_markup("a < b > c") and not has_markup("<!-- unclosed") and not has_markup("<grin>")
    assert strip_markup("a<br/>b<span class='x'>c</span>") == "a b c "


def test_sentences_are_local() -> None:
    text = "One. Two! Three? « Four. » 五。六"
    assert [text[s:e] for s, e in sentences(text)] == ["One.", "Two!", "Three?", "« Four. »", "五。", "六"]


def test_headline_repair() -> None:
    assert clean_text("L’appel  <b>Biden</b>\n– Poutine", None).headline == "L'appel Biden – Poutine"


# --------------------------------------------------------------------------- boilerplate


def test_repeated_headline_anywhere_but_only_whole_paragraphs() -> None:
    body = "Big news today\n\nThe story begins. Big news today, said someone.\n\nBIG NEWS TODAY!"
    clean = clean_text("Big news today", body)
    assert clean.body == "The story begins. Big news today, said someone."
    assert reasons(clean) == ["repeated_headline", "repeated_headline"]


def test_first_paragraph_survives_a_second_pass() -> None:
    first = clean_text("Headline", "Headline\n\nFirst paragraph.\n\nSecond.")
    assert first.body == "First paragraph.\n\nSecond."
    again = clean_text(first.headline, first.body)
    assert again.body == first.body and again.removed == []


def test_duplicate_paragraphs() -> None:
    long = (
        "The central bank kept its main rate unchanged on Thursday and said it would watch inflation closely "
        "in the months ahead."
    )
    body = f"{long}\n\nA short line.\n\nA short line.\n\nQuestion one?\n\nAnswer.\n\nQuestion one?\n\n{long}"
    clean = clean_text(None, body)
    assert clean.body == f"{long}\n\nA short line.\n\nQuestion one?\n\nAnswer.\n\nQuestion one?"
    assert reasons(clean) == ["duplicate_paragraph", "duplicate_paragraph"]


def test_pipe_caption_inside_running_text() -> None:
    body = (
        "Troops were moved. Vladimir Putin | SPUTNIK / VIA AFP-JIJI Putin spoke with leaders. "
        "Talks went on. A caption sentence here. | TYLER HICKS/THE NEW YORK TIMES Tensions rose."
    )
    clean = clean_text(None, body)
    assert clean.body == "Troops were moved. Putin spoke with leaders. Talks went on. Tensions rose."
    assert [r.text for r in clean.removed] == [
        "Vladimir Putin | SPUTNIK / VIA AFP-JIJI",
        "A caption sentence here. | TYLER HICKS/THE NEW YORK TIMES",
    ]


def test_pipe_without_credit_is_text() -> None:
    body = "Results | Group A | Spain 2 Italy 1. The SCORE | WAS level at half time."
    assert clean_text(None, body).body == body


@pytest.mark.parametrize(
    "line",
    [
        "Photo: Gerald Herbert/AP",
        "Foto: dpa",
        "Фото: РИА Новости",
        "(AP Photo/Evan Vucci)",
        "A man walks past a damaged building in Kyiv on March 1. REUTERS/Gleb Garanich",
        "Firefighters at the scene. John Smith/AFP",
        "© AFP 2024",
    ],
)
def test_caption_and_credit_paragraphs(line: str) -> None:
    clean = clean_text(None, f"The story.\n\n{line}\n\nThe end.")
    assert clean.body == "The story.\n\nThe end."
    assert reasons(clean) in (["caption_credit"], ["copyright_notice"])


def test_bracketed_credit_inside_a_sentence() -> None:
    clean = clean_text(None, "Protesters gathered (Photo: AFP) outside the ministry (AFP) on Monday.")
    assert clean.body == "Protesters gathered outside the ministry (AFP) on Monday."


@pytest.mark.parametrize(
    "sentence",
    [
        "Share this article",
        "Follow us on Twitter",
        "Sign up for our newsletter",
        "Click to enlarge",
        "Advertisement",
        "We use cookies to improve your experience on our site.",
        "This article is for subscribers only.",
        "Partager",
        "Abonnez-vous maintenant",
        "Lesen Sie auch: Netzbetreiber warnen vor steigenden Kosten",
        "Anzeige",
        "Síguenos en Twitter",
        "Leggi anche: Bollette, cosa cambia",
        "Leia também: Banco Central mantém juros",
        "Lees ook: Amsterdam wil geen dark stores",
        "Читайте также: Рубль укрепился",
        "اقرأ أيضا: السعودية تعلن خفضا",
        "点击查看大图",
        "责任编辑：李华",
    ],
)
def test_boilerplate_paragraph_in_each_language(sentence: str) -> None:
    clean = clean_text(None, f"The story begins here.\n\n{sentence}\n\nThe story ends here.")
    assert clean.body == "The story begins here.\n\nThe story ends here."
    assert len(clean.removed) == 1


def test_boilerplate_sentences_inside_a_paragraph() -> None:
    body = "The ministry confirmed the figures. By subscribing, you can help us get the story right. SUBSCRIBE NOW"
    clean = clean_text(None, body)
    assert clean.body == "The ministry confirmed the figures."
    assert reasons(clean) == ["subscription_appeal", "subscription_appeal"]


def test_sentences_with_trigger_words_are_kept() -> None:
    body = (
        "Users who share a link will not be affected. Publishers hope readers will subscribe. "
        "A Reuters photo shows lawmakers applauding. Share prices rose. Follow-up talks are planned. "
        "Read more about the vote in the report, lawmakers said. Comments from the minister were brief."
    )
    clean = clean_text(None, body)
    assert clean.body == body and clean.removed == []


def test_related_block_header_and_its_links() -> None:
    body = (
        "The story.\n\nRelated:\n\nHurricane season forecast calls for more storms\n\nHow to prepare your home\n\n"
        "The story goes on, and this paragraph is text."
    )
    clean = clean_text(None, body)
    assert clean.body == "The story.\n\nThe story goes on, and this paragraph is text."
    assert reasons(clean) == ["related_block"] * 3


def test_related_lead_line() -> None:
    clean = clean_text(None, "The story.\n\nRead more: Storm season is here\n\nMore story.")
    assert clean.body == "The story.\n\nMore story."


def test_long_paragraph_opening_with_a_lead_word_is_kept() -> None:
    body = "Photo: " + "the agency said the photographs were taken in the morning and released later " * 4
    assert clean_text(None, body).body == body.strip()


def test_removed_text_is_bounded() -> None:
    long = "x" * 10_000 + "."
    clean = clean_text(
        None,
        f"{long} {' '.join(['word'] * 30)}.\n\n{long} {' '.join(['word'] * 30)}.\n\n{long} {' '.join(['word'] * 30)}.",
    )
    assert all(len(r.text) <= 2000 for r in clean.removed)


def test_warm_up_returns_seconds() -> None:
    assert warm_up() >= 0.0
