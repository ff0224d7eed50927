"""The boilerplate lexicon: phrases from ``lexicon/*.tsv``, compiled into matchers.

File format (also in each file's header): one entry per line, three tab-separated fields
``REASON  SCOPE  PHRASE``; ``#`` starts a comment line. See ``docs/cleaning.md``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEXICON_DIR = Path(__file__).with_name("lexicon")
SCOPES = ("sentence", "segment", "lead", "header", "credit")
_REASON = re.compile(r"[a-z][a-z0-9_]{1,40}")
_TOKEN = re.compile(r"\*|[^\W_]+")
# Scripts written without spaces between words: no word boundary is asserted there.
UNSPACED = re.compile(r"[\u0e00-\u0eff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SEP = r"[\W_]+"
_WILDCARD = r"(?:[\W_]+[^\W_]{1,40}){0,12}?"

_APOSTROPHE = re.compile("[\u2019\u2018\u02bc\u00b4`]")
_ARABIC = re.compile("[\u0600-\u06ff]")
_ARABIC_FOLD = str.maketrans(
    {"\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627", "\u0649": "\u064a", "\u0640": None}
)
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670]")
_WORDS = re.compile(r"[^\W_]+")


class LexiconError(ValueError):
    """A malformed lexicon line (a maintainer's typo), with file and line number."""


def normalise(text: str) -> str:
    """The form phrases are matched in: case-folded, one apostrophe, Arabic without marks."""
    text = text.casefold()
    if text.isascii():
        return text.replace("`", "'")
    text = _APOSTROPHE.sub("'", text)
    if _ARABIC.search(text):
        text = _ARABIC_MARKS.sub("", text.translate(_ARABIC_FOLD))
    return text


def words(normalised: str) -> set[str]:
    """The distinct words of normalised text (what phrase anchors are looked up in)."""
    return set(_WORDS.findall(normalised))


@dataclass(frozen=True, slots=True)
class Phrase:
    """One lexicon entry, compiled."""

    reason: str
    scope: str
    text: str
    pattern: re.Pattern[str]
    anchor: str  # a word (or, in unspaced scripts, a literal) any match contains
    unspaced: bool  # the anchor is looked up as a substring, not as a word
    source: str  # file:line, for error messages
    # The whole word a match starts with; None when the first token has letters of an unspaced
    # script, whose match may start or end inside a longer run of letters.
    first: str | None


def _compile(tokens: list[str], lead: bool) -> re.Pattern[str]:
    parts: list[str] = []
    previous = ""
    for i, token in enumerate(tokens):
        if token == "*":
            # lazy inside a phrase, greedy at its end (so it takes the rest of a sentence)
            parts.append(_WILDCARD if i < len(tokens) - 1 else _WILDCARD[:-1])
            continue
        if previous:
            unspaced = UNSPACED.match(previous[-1]) and UNSPACED.match(token[0])
            parts.append(r"[\W_]*" if unspaced else _SEP)
        parts.append(re.escape(token))
        previous = token
    if not UNSPACED.match(tokens[-1][-1]):
        parts.append(r"(?![^\W_])")
    body = "".join(parts)
    if lead:
        return re.compile(r"^[\W_]*" + body + r"[ ]*[:\uff1a|\u203a\u00bb>\u2013\u2014/-]")
    if not UNSPACED.match(tokens[0][0]):
        body = r"(?<![^\W_])" + body
    return re.compile(body)


def phrase_tokens(text: str, where: str) -> list[str]:
    """The tokens of a phrase as written in a data file; :class:`LexiconError` if malformed."""
    tokens = _TOKEN.findall(normalise(text))
    if not [t for t in tokens if t != "*"] or tokens[0] == "*":
        raise LexiconError(f"{where}: a phrase needs words and cannot start with *")
    if any(a == b == "*" for a, b in itertools.pairwise(tokens)):
        raise LexiconError(f"{where}: two * in a row")
    return tokens


def phrase_anchor(tokens: list[str]) -> tuple[str, bool]:
    """The longest word of a phrase, which every match contains, and whether it is written in an
    unspaced script (then it is looked up as a substring, else as a word of :func:`words`)."""
    anchor = max((t for t in tokens if t != "*"), key=len)
    return anchor, any(UNSPACED.match(c) for c in anchor)


def phrase_pattern(tokens: list[str]) -> str:
    """The regular expression (source) that finds a phrase anywhere in normalised text."""
    return _compile(tokens, lead=False).pattern


def tsv_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, list[str]]]:
    """``(file:line, fields)`` of each entry of a data file (blank and ``#`` lines skipped);
    :class:`LexiconError` for a line without exactly the given tab-separated columns."""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path.name}:{number}"
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise LexiconError(f"{where}: expected {'<TAB>'.join(columns)}, got {line!r}")
        yield where, [field.strip() for field in fields]


def _parse(path: Path) -> list[Phrase]:
    phrases: list[Phrase] = []
    for where, (reason, scope, text) in tsv_rows(path, ("REASON", "SCOPE", "PHRASE")):
        if not _REASON.fullmatch(reason):
            raise LexiconError(f"{where}: reason must be snake_case, got {reason!r}")
        if scope not in SCOPES:
            raise LexiconError(f"{where}: scope must be one of {SCOPES}, got {scope!r}")
        tokens = phrase_tokens(text, where)
        anchor, unspaced = phrase_anchor(tokens)
        pattern = _compile(tokens, scope == "lead")
        first = None if UNSPACED.search(tokens[0]) else tokens[0]
        phrases.append(Phrase(reason, scope, text, pattern, anchor, unspaced, where, first))
    return phrases


@dataclass(frozen=True, slots=True)
class Lexicon:
    """All phrases, by scope, longest first (a longer phrase wins over one inside it)."""

    sentence: tuple[Phrase, ...]
    segment: tuple[Phrase, ...]
    lead: tuple[Phrase, ...]
    header: tuple[Phrase, ...]
    credit: tuple[Phrase, ...]
    credit_names: frozenset[str]


def load(directory: Path = LEXICON_DIR) -> Lexicon:
    """Read and compile every ``*.tsv`` in ``directory``; raise :class:`LexiconError`."""
    by_scope: dict[str, list[Phrase]] = {scope: [] for scope in SCOPES}
    for path in sorted(directory.glob("*.tsv")):
        for phrase in _parse(path):
            by_scope[phrase.scope].append(phrase)
    ordered = {s: tuple(sorted(p, key=lambda ph: -len(ph.text))) for s, p in by_scope.items()}
    names = frozenset(" ".join(_TOKEN.findall(normalise(p.text))) for p in ordered["credit"])
    return Lexicon(
        ordered["sentence"], ordered["segment"], ordered["lead"], ordered["header"], ordered["credit"], names
    )


@cache
def lexicon() -> Lexicon:
    """The packaged lexicon, loaded once."""
    return load()
