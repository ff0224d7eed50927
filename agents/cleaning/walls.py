"""Pages that are not articles: consent walls, paywalls, bot checks, error pages, empty shells.

A scraper that reaches a wall instead of the article sends the wall. The phrases that mark
wall text are data (``walls/<language>.tsv``, ``REASON<TAB>PHRASE``, phrases written as in
the boilerplate lexicon); all files are loaded together, since the language is not known yet.

The decision is made on what is left once the wall's own text is set aside: every sentence
that contains a wall phrase, and every boilerplate removal the cleaning guard refused
(boilerplate the guard kept because nothing else was there), is set aside; a story with fewer than
``MIN_ARTICLE_WORDS`` words left is not an article. A real article that mentions cookies
or subscriptions keeps its own sentences, so it stays an article. See ``docs/cleaning.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from agents.cleaning.lexicon import LexiconError, normalise, phrase_pattern, phrase_tokens, tsv_rows
from agents.cleaning.segment import paragraphs, sentences, word_count
from schemas.records import CleanText

WALLS_DIR = Path(__file__).with_name("walls")
REASONS = ("consent_wall", "paywall", "bot_check", "error_page", "empty_shell")
MIN_ARTICLE_WORDS = 20
_MAX_QUOTE = 120
# Refused removals that are the story's own text (a body that only repeats the headline is a brief).
_ARTICLE_TEXT = frozenset({"repeated_headline", "duplicate_paragraph"})


@dataclass(frozen=True, slots=True)
class NotAnArticle:
    """Why a story is not an article: the reason, and the start of the wall text for a person."""

    reason: str
    wall_text: str
    article_words: int


def load(directory: Path = WALLS_DIR) -> dict[str, re.Pattern[str]]:
    """One pattern per reason from every ``*.tsv`` of ``directory``; :class:`LexiconError`
    names the file and line of a malformed entry."""
    sources: dict[str, list[str]] = {reason: [] for reason in REASONS}
    for path in sorted(directory.glob("*.tsv")):
        for where, (reason, text) in tsv_rows(path, ("REASON", "PHRASE")):
            if reason not in REASONS:
                raise LexiconError(f"{where}: reason must be one of {REASONS}, got {reason!r}")
            sources[reason].append(phrase_pattern(phrase_tokens(text, where)))
    return {reason: re.compile("|".join(f"(?:{s})" for s in found)) for reason, found in sources.items() if found}


@cache
def walls() -> dict[str, re.Pattern[str]]:
    """The packaged wall phrases, loaded once."""
    return load()


def _wall_reason(sentence: str, patterns: dict[str, re.Pattern[str]]) -> str | None:
    norm = normalise(sentence)
    for reason, pattern in patterns.items():
        if pattern.search(norm):
            return reason
    return None


def not_an_article(clean: CleanText) -> NotAnArticle | None:
    """Whether a cleaned story is a wall, an error page or an empty shell rather than an article."""
    body = clean.body
    for refused in clean.refused:
        if refused.reason not in _ARTICLE_TEXT:
            body = body.replace(refused.text, " ", 1)
    patterns = walls()
    wall_chars: dict[str, int] = {}
    wall_text: list[str] = []
    article_words = 0
    for paragraph in paragraphs(body):
        for start, end in sentences(paragraph):
            sentence = paragraph[start:end]
            reason = _wall_reason(sentence, patterns)
            if reason is None:
                article_words += word_count(sentence)
            else:
                wall_chars[reason] = wall_chars.get(reason, 0) + len(sentence)
                wall_text.append(sentence)
    if article_words >= MIN_ARTICLE_WORDS:
        return None
    if wall_chars:
        reason = max(wall_chars, key=lambda r: (wall_chars[r], -REASONS.index(r)))
        return NotAnArticle(reason, " ".join(wall_text)[:_MAX_QUOTE], article_words)
    if article_words == 0 and clean.body.strip():
        return NotAnArticle("empty_shell", " ".join(clean.body.split())[:_MAX_QUOTE], 0)
    return None
