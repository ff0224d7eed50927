"""Paragraphs and sentences of repaired text.

A clean body is a list of one-line paragraphs joined by a blank line. Splitting is local
(a boundary depends only on the characters around it), so deleting one sentence or
paragraph never moves another boundary: this is what keeps cleaning idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Sentence end, in every script:
# - terminal punctuation (and closing quotes/brackets: ” ’ and the German “ ‘, a French
#   « … » one after a space too) followed by a space or the end;
# - full stops of scripts that need no space after them: CJK 。！？ and the half/full-width
#   forms, Arabic ؟ and Urdu ۔, Devanagari/Bengali danda । ॥, Myanmar ။, Khmer ។ ៕,
#   Ethiopic ።, Armenian ։ (with closing quotes and brackets);
# - a space after a Thai or Lao letter: those scripts mark a sentence (or clause) with a
#   space and write words without one (a Latin word inside a Thai sentence splits it too,
#   which only makes units smaller: a rule never removes more for it).
NO_SPACE_STOPS = "\u3002\uff01\uff1f\uff61\u061f\u06d4\u0964\u0965\u104b\u17d4\u17d5\u1362\u0589"
SENTENCE_END = re.compile(
    r"[.!?\u2026]+(?: ?\u00bb|[\"'\u201c\u201d\u2018\u2019)\]])*(?= |$)"
    rf"|[{NO_SPACE_STOPS}]+[\"'\u00bb\u201d\u2019)\]\u300d\u300f\uff09]*"
    r"|(?<=[\u0e01-\u0e4e\u0e81-\u0ecd])(?= \S)"
)
# Letters of scripts written without spaces between words: each counts as half a word.
_UNSPACED_LETTER = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)
_TERMINAL = ".!?\u2026:;\"'\u00bb\u201d\u2019)" + NO_SPACE_STOPS


def _joins(previous: str, following: str) -> bool:
    """Whether a single line break between two lines is a hard wrap inside a sentence."""
    return bool(previous) and previous[-1] not in _TERMINAL and following[:1].islower()


def iter_paragraphs(text: str) -> Iterator[str]:
    """The one-line paragraphs of repaired text, one at a time.

    Text with blank lines: each block is a paragraph, and a line break inside a block is a
    paragraph break too, unless it is a hard wrap (previous line without terminal
    punctuation, next line starting in lower case), which is joined with a space.
    Text without blank lines: every line is a paragraph.
    """
    text = text.strip()
    if not text:
        return
    if "\n\n" not in text:
        yield from (line for line in text.split("\n") if line)
        return
    # Split at every blank line; a longer run of line breaks leaves empty lines in a block, skipped below.
    for block in text.split("\n\n"):
        current = ""
        for line in block.split("\n"):
            if not line:
                continue
            if current and _joins(current, line):
                current = current + " " + line
            else:
                if current:
                    yield current
                current = line
        if current:
            yield current


def paragraphs(text: str) -> list[str]:
    """Split repaired text into one-line paragraphs (see :func:`iter_paragraphs`)."""
    return list(iter_paragraphs(text))


def join_paragraphs(paras: list[str]) -> str:
    """The body text for a list of one-line paragraphs."""
    return "\n\n".join(paras)


def sentences(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a one-line paragraph (spaces between excluded)."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(paragraph)
    for match in SENTENCE_END.finditer(paragraph):
        end = match.end()
        if end > start:
            spans.append((start, end))
        start = end
        while start < n and paragraph[start] == " ":
            start += 1
    if start < n:
        spans.append((start, n))
    return spans


def word_count(text: str) -> int:
    """Words in ``text`` in any script: space-separated tokens, plus half a word for each letter
    of a script written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar), whose
    words are one to three letters long."""
    if text.isascii():
        return len(text.split())
    unspaced = len(_UNSPACED_LETTER.findall(text))
    if not unspaced:
        return len(text.split())
    tokens = sum(1 for token in text.split() if not _UNSPACED_LETTER.search(token))
    return tokens + (unspaced + 1) // 2


def has_words(text: str, count: int) -> bool:
    """Whether ``word_count(text) >= count``, without splitting all of an ASCII text."""
    if text.isascii():
        return len(text.split(None, count - 1)) >= count
    return word_count(text) >= count
