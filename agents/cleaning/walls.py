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

from agents.cleaning.lexicon import (
    UNSPACED,
    LexiconError,
    normalise,
    phrase_anchor,
    phrase_pattern,
    phrase_tokens,
    tsv_rows,
    words,
)
from agents.cleaning.segment import iter_paragraphs, sentences, word_count
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


@dataclass(frozen=True, slots=True)
class WallPhrases:
    """The wall phrases, each compiled on its own and filed under its anchor
    (:func:`~agents.cleaning.lexicon.phrase_anchor`): a sentence is searched only with the few
    phrases whose anchor it contains, not with all of them."""

    by_word: dict[str, tuple[tuple[int, re.Pattern[str]], ...]]  # anchor → (index in REASONS, pattern)
    unspaced: tuple[tuple[str, int, re.Pattern[str]], ...]  # (anchor, index in REASONS, pattern)

    def reason(self, sentence: str) -> str | None:
        """The first reason, in ``REASONS`` order, one of whose phrases ``sentence`` contains."""
        norm = normalise(sentence)
        found = [hit for word in words(norm).intersection(self.by_word) for hit in self.by_word[word]]
        if self.unspaced and UNSPACED.search(norm):
            found.extend((reason, pattern) for anchor, reason, pattern in self.unspaced if anchor in norm)
        for reason, pattern in sorted(found, key=lambda hit: hit[0]):
            if pattern.search(norm):
                return REASONS[reason]
        return None


def load(directory: Path = WALLS_DIR) -> WallPhrases:
    """The phrases of every ``*.tsv`` of ``directory``; :class:`LexiconError` names the file and
    line of a malformed entry."""
    by_word: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
    unspaced: list[tuple[str, int, re.Pattern[str]]] = []
    for path in sorted(directory.glob("*.tsv")):
        for where, (reason, text) in tsv_rows(path, ("REASON", "PHRASE")):
            if reason not in REASONS:
                raise LexiconError(f"{where}: reason must be one of {REASONS}, got {reason!r}")
            tokens = phrase_tokens(text, where)
            anchor, in_unspaced_script = phrase_anchor(tokens)
            hit = (REASONS.index(reason), re.compile(phrase_pattern(tokens)))
            if in_unspaced_script:
                unspaced.append((anchor, *hit))
            else:
                by_word.setdefault(anchor, []).append(hit)
    return WallPhrases({anchor: tuple(hits) for anchor, hits in by_word.items()}, tuple(unspaced))


@cache
def walls() -> WallPhrases:
    """The packaged wall phrases, loaded once."""
    return load()


def not_an_article(clean: CleanText) -> NotAnArticle | None:
    """Whether a cleaned story is a wall, an error page or an empty shell rather than an article."""
    body = clean.body
    for refused in clean.refused:
        if refused.reason not in _ARTICLE_TEXT:
            body = body.replace(refused.text, " ", 1)
    phrases = walls()
    wall_chars: dict[str, int] = {}
    wall_text: list[str] = []
    article_words = 0
    for paragraph in iter_paragraphs(body):  # most stories are settled in their first paragraphs
        for start, end in sentences(paragraph):
            sentence = paragraph[start:end]
            reason = phrases.reason(sentence)
            if reason is None:
                article_words += word_count(sentence)
                if article_words >= MIN_ARTICLE_WORDS:
                    return None  # the rest of the text cannot make it less of an article
            else:
                wall_chars[reason] = wall_chars.get(reason, 0) + len(sentence)
                wall_text.append(sentence)
    if wall_chars:
        reason = max(wall_chars, key=lambda r: (wall_chars[r], -REASONS.index(r)))
        return NotAnArticle(reason, " ".join(wall_text)[:_MAX_QUOTE], article_words)
    if article_words == 0 and clean.body.strip():
        return NotAnArticle("empty_shell", " ".join(clean.body.split())[:_MAX_QUOTE], 0)
    return None
