"""The lexicon files: they load, cover the ten wire languages, and match as documented."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from agents.cleaning.lexicon import LEXICON_DIR, LexiconError, lexicon, load, normalise

LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ru", "ar", "zh")
KINDS = (
    "share_prompt",
    "follow_prompt",
    "subscription_appeal",
    "newsletter_appeal",
    "gallery_prompt",
    "related_block",
    "caption_credit",
    "cookie_notice",
    "paywall_notice",
    "advertisement",
)


def test_packaged_lexicon_loads() -> None:
    packaged = lexicon()
    assert len(packaged.sentence) + len(packaged.segment) + len(packaged.lead) + len(packaged.header) > 500
    assert {"afp", "reuters", "getty images", "sputnik", "ap"} <= packaged.credit_names


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_covers_every_kind(language: str) -> None:
    kinds: dict[str, int] = defaultdict(int)
    packaged = lexicon()
    for phrase in packaged.segment + packaged.sentence + packaged.lead + packaged.header:
        if phrase.source.startswith(f"{language}.tsv:"):
            kinds[phrase.reason] += 1
    missing = [kind for kind in KINDS if not kinds[kind]]
    assert not missing, f"{language}.tsv has no {missing}"


def test_every_file_has_the_format_header() -> None:
    for path in sorted(LEXICON_DIR.glob("*.tsv")):
        head = path.read_text(encoding="utf-8").splitlines()[:3]
        assert head and head[0].startswith("#"), path.name


def _lexicon(tmp_path: Path, line: str) -> Path:
    (tmp_path / "xx.tsv").write_text(f"# header\n{line}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "line",
    [
        "share_prompt segment share",  # spaces, not tabs
        "Share\tsegment\tshare",  # reason not snake_case
        "share_prompt\tparagraph\tshare",  # unknown scope
        "share_prompt\tsegment\t* share",  # starts with a wildcard
        "share_prompt\tsegment\t!!!",  # no words
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path: Path, line: str) -> None:
    with pytest.raises(LexiconError, match=r"xx\.tsv:2"):
        load(_lexicon(tmp_path, line))


def test_phrase_matching(tmp_path: Path) -> None:
    pattern = load(_lexicon(tmp_path, "x_reason\tsentence\tclick * to enlarge")).sentence[0].pattern
    assert pattern.search(normalise("CLICK the image TO enlarge"))
    assert pattern.search(normalise("click-to-enlarge"))
    assert not pattern.search(normalise("clicks to enlarge"))
    assert not pattern.search(normalise("click " + "word " * 13 + "to enlarge"))


def test_normalise_folds_case_apostrophes_and_arabic_marks() -> None:
    assert normalise("L’APPEL") == "l'appel"
    assert normalise("اقرأ أيضاً") == normalise("اقرا ايضا")
