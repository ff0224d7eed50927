"""Paragraphs and sentences of repaired text.

A clean body is a list of one-line paragraphs joined by a blank line. Splitting is local
(a boundary depends only on the characters around it), so deleting one sentence or
paragraph never moves another boundary: this is what keeps cleaning idempotent.
"""

from __future__ import annotations

import re

_BLOCKS = re.compile(r"\n{2,}")
# Sentence end: terminal punctuation (and closing quotes/brackets, a French « … » one after a
# space too) followed by a space or the end, or a CJK full stop / question / exclamation mark.
_SENTENCE_END = re.compile(
    r"[.!?\u2026]+(?: ?\u00bb|[\"'\u201d\u2019)\]])*(?= |$)"
    r"|[\u3002\uff01\uff1f\u061f]+[\"'\u00bb\u201d\u2019)\]\u300d\u300f]*"
)
_TERMINAL = ".!?\u2026:;\"'\u00bb\u201d\u2019)\u3002\uff01\uff1f\u061f"


def _joins(previous: str, following: str) -> bool:
    """Whether a single line break between two lines is a hard wrap inside a sentence."""
    return bool(previous) and previous[-1] not in _TERMINAL and following[:1].islower()


def paragraphs(text: str) -> list[str]:
    """Split repaired text into one-line paragraphs.

    Text with blank lines: each block is a paragraph, and a line break inside a block is a
    paragraph break too, unless it is a hard wrap (previous line without terminal
    punctuation, next line starting in lower case), which is joined with a space.
    Text without blank lines: every line is a paragraph.
    """
    text = text.strip()
    if not text:
        return []
    if "\n\n" not in text:
        return [line for line in text.split("\n") if line]
    out: list[str] = []
    for block in _BLOCKS.split(text):
        current = ""
        for line in block.split("\n"):
            if not line:
                continue
            if current and _joins(current, line):
                current = current + " " + line
            else:
                if current:
                    out.append(current)
                current = line
        if current:
            out.append(current)
    return out


def join_paragraphs(paras: list[str]) -> str:
    """The body text for a list of one-line paragraphs."""
    return "\n\n".join(paras)


def sentences(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a one-line paragraph (spaces between excluded)."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(paragraph)
    for match in _SENTENCE_END.finditer(paragraph):
        end = match.end()
        if end > start:
            spans.append((start, end))
        start = end
        while start < n and paragraph[start] == " ":
            start += 1
    if start < n:
        spans.append((start, n))
    return spans
