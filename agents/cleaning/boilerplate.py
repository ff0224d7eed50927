"""Boilerplate in plain text: what is left of a page's chrome once no HTML is there to help.

Rules, from the smallest unit to the largest; each removes whole units only and records
each removal with its reason:

1. inside a paragraph: a photo caption with a pipe credit (``… | SPUTNIK / VIA AFP-JIJI``),
   a bracketed credit (``(AP Photo/Jane Doe)``), and any sentence made *only* of lexicon
   phrases of scope ``sentence`` (a news sentence that contains a trigger word has other
   words too, so it stays);
2. whole paragraphs: the headline repeated, a related-links block (header and the
   headline-like lines after it), a paragraph made only of lexicon phrases, a short
   paragraph opened by a lead phrase (``Photo: …``), a short caption ending in a credit,
   a repeat of an earlier paragraph.

Paragraph rules look at paragraphs as step 1 left them, and sentence boundaries are local,
so a second run finds nothing left to remove.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cache

from agents.cleaning.lexicon import UNSPACED, Lexicon, Phrase, lexicon, normalise, words
from agents.cleaning.segment import NO_SPACE_STOPS, SENTENCE_END, has_words, sentences, word_count
from schemas.records import Removal

_HAS_WORD = re.compile(r"[^\W_]")
_WORD = re.compile(r"[^\W_]+")
_MAX_SENTENCE = 400
_MAX_CUT_ROUNDS = 4  # a boilerplate sentence is short; longer ones are never looked at
_MAX_LEAD_WORDS = 40
_MAX_CAPTION_WORDS = 60
_MAX_LINK_WORDS = 16
_MIN_REPEAT_WORDS = 20
_STATEMENT_END = ".\u2026\"'\u00bb\u201d\u3002"
_MAX_AUDIT = 2000
_PIPE_CREDIT = re.compile(r"(?:^| )(\|) ?(\w)")
_BRACKETED = re.compile(r"[(\[]([^()\[\]\n]{1,120})[)\]]")
_LINK_END = ".!?\u2026;\u3002\uff01\uff1f"
# The guard: a unit of more than this many words that is more than half of the body is not
# boilerplate, whatever a rule says (a rule misfiring on an article); nor is a whole body.
_GUARD_WORDS = 20
_HAS_SENTENCE_END = re.compile(rf"[.!?\u2026] |[{NO_SPACE_STOPS}]|[\u0e01-\u0ecd] \S")
_COPYRIGHT_TAIL = re.compile(r"(?<!\S)\u00a9[^\u00a9]{0,60}$")
_STRIP_TOKEN = ",.;:()[]\"'\u00ab\u00bb\u201c\u201d"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_AUDIT else text[: _MAX_AUDIT - 1] + "\u2026"


@dataclass(slots=True)
class _Audit:
    """The removals of one body, and the removals the guard refused.

    A rule calls :meth:`take` before cutting a unit; a unit of more than ``_GUARD_WORDS`` words
    that is more than half of the body is refused (kept, and listed in ``refused``).
    """

    body_chars: int
    removed: list[Removal] = field(default_factory=list)
    refused: list[Removal] = field(default_factory=list)

    def take(self, text: str, reason: str) -> bool:
        """Record the removal of ``text`` and return True, or record its refusal and return False."""
        if 2 * len(text) > self.body_chars and word_count(text) > _GUARD_WORDS:
            self.refused.append(Removal(_clip(text.strip()), reason))
            return False
        self.removed.append(Removal(_clip(text.strip()), reason))
        return True


@dataclass(frozen=True, slots=True)
class _Rules:
    """The lexicon as the rules use it: phrase groups and credit regexes."""

    sentence: _Index
    segment: _Index  # segment + sentence + credit phrases, longest first
    header: _Index
    lead: _LeadIndex
    credit_name: re.Pattern[str]  # a credit name anywhere (normalised text)
    credit_start: re.Pattern[str]  # "reuters/…", "ap photo/…", "© …" at the start
    credit_tail: re.Pattern[str]  # "…/afp", "reuters/jane doe" at the end


@dataclass(frozen=True, slots=True)
class _Index:
    """Phrases of one group by anchor, to find the few that can match in a document."""

    by_anchor: dict[str, tuple[int, ...]]
    unspaced: tuple[int, ...]
    phrases: tuple[Phrase, ...]

    @classmethod
    def build(cls, phrases: tuple[Phrase, ...]) -> _Index:
        by_anchor: dict[str, list[int]] = {}
        for i, phrase in enumerate(phrases):
            if not phrase.unspaced:
                by_anchor.setdefault(phrase.anchor, []).append(i)
        unspaced = tuple(i for i, p in enumerate(phrases) if p.unspaced)
        return cls({a: tuple(v) for a, v in by_anchor.items()}, unspaced, phrases)

    def candidates(self, doc: str, doc_words: set[str], cjk: bool) -> tuple[Phrase, ...]:
        """The phrases that can match somewhere in the document, in the group's order."""
        hits: list[int] = []
        for anchor in doc_words.intersection(self.by_anchor):
            hits.extend(self.by_anchor[anchor])
        if cjk:
            hits.extend(i for i in self.unspaced if self.phrases[i].anchor in doc)
        return tuple(self.phrases[i] for i in sorted(hits))


_FIRST_WORD = re.compile(r"[\W_]*([^\W_]+)")


@dataclass(frozen=True, slots=True)
class _LeadIndex:
    """Lead phrases by their first word: only a paragraph's first word is looked up."""

    by_first: dict[str, tuple[Phrase, ...]]
    unspaced: tuple[Phrase, ...]

    @classmethod
    def build(cls, phrases: tuple[Phrase, ...]) -> _LeadIndex:
        by_first: dict[str, list[Phrase]] = {}
        unspaced: list[Phrase] = []
        for phrase in phrases:
            first = _FIRST_WORD.match(normalise(phrase.text))
            if phrase.unspaced or first is None:
                unspaced.append(phrase)
            else:
                by_first.setdefault(first.group(1), []).append(phrase)
        return cls({k: tuple(v) for k, v in by_first.items()}, tuple(unspaced))

    def match(self, norm: str) -> Phrase | None:
        """The lead phrase that opens ``norm`` (normalised text), if any."""
        first = _FIRST_WORD.match(norm)
        if first is None:
            return None
        candidates = self.by_first.get(first.group(1), ())
        if self.unspaced and UNSPACED.match(first.group(1)):
            candidates = candidates + self.unspaced
        for phrase in candidates:
            if phrase.pattern.match(norm):
                return phrase
        return None


@cache
def _rules() -> _Rules:
    lex: Lexicon = lexicon()
    names = sorted(lex.credit_names, key=len, reverse=True)
    alt = "|".join(r"[\W_]+".join(re.escape(w) for w in name.split()) for name in names)
    name = rf"(?<![^\W_])(?:{alt})(?![^\W_])"
    photo = r"(?:[\W_]+(?:photo|photos|foto|fotos|images?|pictures?))?"
    segment = tuple(sorted(lex.segment + lex.sentence + lex.credit, key=lambda p: -len(p.text)))
    return _Rules(
        sentence=_Index.build(lex.sentence),
        segment=_Index.build(segment),
        header=_Index.build(lex.header),
        lead=_LeadIndex.build(lex.lead),
        credit_name=re.compile(name),
        credit_start=re.compile(rf"^[\W_]*(?:(?:{name}){photo}[ ]*/|\u00a9)"),
        credit_tail=re.compile(rf"(?:(?:{name}){photo}[ ]*/[ ]*[^/\s][^/]{{0,60}}|/[ ]*(?:{name})[\W_]*)$"),
    )


@dataclass(frozen=True, slots=True)
class _Cover:
    """Phrases that can make up a whole unit, and the words such a unit can open with.

    A unit made only of phrases opens with a match, and a match of a phrase whose first token
    is a spaced-script word starts with that whole word: a unit whose first word opens none of
    the phrases is not covered, whatever the other words (the check that spares most units).
    """

    phrases: tuple[Phrase, ...]
    openers: frozenset[str] | None  # None: a phrase may start inside a run of letters

    @classmethod
    def of(cls, phrases: tuple[Phrase, ...]) -> _Cover:
        firsts = {phrase.first for phrase in phrases}
        return cls(phrases, None if None in firsts else frozenset(f for f in firsts if f is not None))

    def reason(self, norm: str) -> str | None:
        """The reason if ``norm`` (normalised text) is made only of the phrases, else ``None``."""
        if not self.phrases:
            return None
        if self.openers is not None:
            first = _FIRST_WORD.match(norm)
            if first is None or first.group(1) not in self.openers:
                return None
        return _covered(norm, self.phrases)


def _covered(norm: str, phrases: tuple[Phrase, ...]) -> str | None:
    """The reason if ``norm`` is made only of the given phrases (and punctuation).

    Matches of every phrase are taken on the same text and may overlap, so the result does
    not depend on the order of the phrases; the reason is that of the longest match.
    """
    spans: list[tuple[int, int]] = []
    best = (0, "")
    for phrase in phrases:
        if phrase.anchor not in norm:
            continue
        for match in phrase.pattern.finditer(norm):
            start, end = match.span()
            spans.append((start, end))
            if end - start > best[0]:
                best = (end - start, phrase.reason)
    if not spans:
        return None
    spans.sort()
    pos = 0
    for start, end in spans:
        if start > pos and _HAS_WORD.search(norm, pos, start):
            return None
        pos = max(pos, end)
    if _HAS_WORD.search(norm, pos):
        return None
    return best[1]


def _is_caps(token: str) -> bool:
    core = token.strip(_STRIP_TOKEN)
    return bool(core) and core.upper() == core and core.lower() != core


def _credit_end(text: str, start: int) -> int:
    """End of an all-capitals credit run starting at ``start`` (``start`` if there is none)."""
    end = start
    for count, match in enumerate(re.finditer(r"\S+", text[start : start + 300])):
        token = match.group()
        if _is_caps(token):
            end = start + match.end()
        elif _HAS_WORD.search(token) or count > 16:
            break
    return end


def _caption_start(ends: list[int], text: str, pipe: int, floor: int) -> int:
    """Start of the caption that a pipe credit at ``pipe`` closes: the sentence it is in,
    or the sentence before when the pipe opens a sentence; never before ``floor``.
    ``ends`` are the sentence ends of ``text``."""
    i = bisect.bisect_right(ends, pipe) - 1
    start = max(ends[i] if i >= 0 else 0, floor)
    if not text[start:pipe].strip():
        start = max(ends[i - 1] if i >= 1 else 0, floor)
    start = max(start, pipe - 4000)
    while start < pipe and text[start] == " ":
        start += 1
    return start


def _cut_pipe_captions(paragraph: str, rules: _Rules, audit: _Audit) -> str:
    cuts: list[tuple[int, int]] = []
    ends: list[int] | None = None
    floor = 0  # a caption never reaches back into an earlier cut
    for match in _PIPE_CREDIT.finditer(paragraph):
        pipe = match.start(1)
        if pipe < floor or not match.group(2)[0].isupper():
            continue
        end = _credit_end(paragraph, pipe + 1)
        if end == pipe + 1 or not rules.credit_name.search(normalise(paragraph[pipe + 1 : end])):
            continue
        if ends is None:
            ends = [m.end() for m in SENTENCE_END.finditer(paragraph)]
        start = _caption_start(ends, paragraph, pipe, floor)
        if _word_count(paragraph[start:pipe], _MAX_CAPTION_WORDS) > _MAX_CAPTION_WORDS:
            start = pipe
        if not audit.take(paragraph[start:end], "caption_credit"):
            continue
        cuts.append((start, end))
        floor = end
    if not cuts:
        return paragraph
    return " ".join(" ".join(_outside(paragraph, cuts)).split())


def _cut_bracketed_credits(paragraph: str, rules: _Rules, audit: _Audit) -> str:
    if "(" not in paragraph and "[" not in paragraph:
        return paragraph

    def cut(match: re.Match[str]) -> str:
        inner = normalise(match.group(1))
        lead = rules.lead.match(inner)
        credit = rules.credit_start.search(inner) or (lead is not None and lead.reason == "caption_credit")
        if credit and audit.take(match.group(0), "caption_credit"):
            return " "
        return match.group(0)

    cut_text = _BRACKETED.sub(cut, paragraph)
    if cut_text == paragraph:
        return paragraph
    return " ".join(cut_text.split())


def _cut_sentences(paragraph: str, whole: str, phrases: tuple[Phrase, ...], audit: _Audit) -> str:
    """``paragraph`` (``whole`` normalised) without the sentences made only of ``phrases``."""
    if not phrases:
        return paragraph
    present = tuple(p for p in phrases if p.anchor in whole)
    if not present:
        return paragraph
    cover = _Cover.of(present)
    spans = sentences(paragraph)
    cuts: list[tuple[int, int]] = []
    for start, end in spans:
        if end - start > _MAX_SENTENCE:
            continue
        reason = cover.reason(normalise(paragraph[start:end]))
        if reason is not None and audit.take(paragraph[start:end], reason):
            cuts.append((start, end))
    return _without(paragraph, cuts)


def _cut_closing_credit(paragraph: str, rules: _Rules, audit: _Audit) -> str:
    """Cut the credit or notice that closes a paragraph, and nothing of the article before it.

    The last sentence goes whole when it is only a notice (``© 2020 纽约时报公司``,
    ``Read more: …``, ``REUTERS/Jane Doe``); a ``©`` notice glued to the end of an article
    sentence (``… the farmers © KYODO``) goes from the ``©`` on. A paragraph that is a caption
    with its credit is left whole for the paragraph rules.
    """
    if not paragraph or paragraph[-1] in _LINK_END:
        return paragraph
    if "\u00a9" not in paragraph and not _HAS_SENTENCE_END.search(paragraph):
        return paragraph  # one sentence without ©: a paragraph rule's
    spans = sentences(paragraph)
    start, end = spans[-1]
    last = paragraph[start:end]
    norm = normalise(last)
    reason: str | None = None
    if _word_count(last, _MAX_LINK_WORDS) <= _MAX_LINK_WORDS:
        lead = rules.lead.match(norm)
        if norm.startswith("\u00a9"):
            reason = "copyright_notice"
        elif lead is not None:
            reason = lead.reason
        elif rules.credit_start.search(norm):
            reason = "caption_credit"
    if reason is None:
        notice = _COPYRIGHT_TAIL.search(last)
        if notice is None:
            return paragraph
        start, reason = start + notice.start(), "copyright_notice"
    if start == 0 or _credit_reason(paragraph, normalise(paragraph), rules) is not None:
        return paragraph  # the whole paragraph is a notice or a caption: a paragraph rule's
    if not audit.take(paragraph[start:end], reason):
        return paragraph
    return _without(paragraph, [(start, end)])


def _without(paragraph: str, cuts: list[tuple[int, int]]) -> str:
    """``paragraph`` without the sentence spans ``cuts`` (in order), spaces closed up."""
    if not cuts:
        return paragraph
    first, *rest = _outside(paragraph, cuts)
    return (first + "".join(piece.lstrip(" ") for piece in rest)).strip(" ")


def _outside(paragraph: str, cuts: list[tuple[int, int]]) -> list[str]:
    """The pieces of ``paragraph`` before, between and after the spans ``cuts`` (in order)."""
    pieces: list[str] = []
    pos = 0
    for start, end in cuts:
        pieces.append(paragraph[pos:start])
        pos = end
    pieces.append(paragraph[pos:])
    return pieces


def _key(norm: str) -> str:
    """Comparison form of a paragraph or headline (``norm``: normalised): words only."""
    return " ".join(_WORD.findall(norm))


def _word_count(text: str, limit: int) -> int:
    """Words in ``text`` (any script), or ``limit + 1`` if there are clearly more (without
    splitting it)."""
    if len(text) > 60 * limit:
        return limit + 1
    return word_count(text)


def _link_like(paragraph: str) -> bool:
    return _word_count(paragraph, _MAX_LINK_WORDS) <= _MAX_LINK_WORDS and paragraph[-1] not in _LINK_END


def _is_duplicate(norm: str, previous: str, seen: set[str]) -> bool:
    """A paragraph repeated right after itself, or a long one repeated anywhere later.

    Short lines and questions legitimately repeat (an interview's questions, a recipe's
    steps), so a paragraph counts when it comes back later only if it is a statement (ends
    like a sentence, not a question) of at least ``_MIN_REPEAT_WORDS`` words.
    """
    if norm in seen:
        return True
    return norm == previous and _HAS_WORD.search(norm) is not None


def _paragraph_reason(paragraph: str, norm: str, segment: _Cover, rules: _Rules) -> str | None:
    if len(paragraph) <= _MAX_SENTENCE:
        reason = segment.reason(norm)
        if reason is not None:
            return reason
    return _credit_reason(paragraph, norm, rules)


def _credit_reason(unit: str, norm: str, rules: _Rules) -> str | None:
    """The reason if ``unit`` (a paragraph or a sentence) is a short notice opened by ``©`` or
    a lead phrase, or a caption with its credit.

    A caption is one sentence ending in a credit (``Protesters in Paris © AFP``), or one
    sentence followed by an agency credit (``… on March 1. REUTERS/Gleb Garanich``). An
    article sentence followed by a ``©`` notice is not a caption: only the notice goes.
    """
    notice = "copyright_notice" if norm.startswith("\u00a9") else None
    if notice is None:
        lead = rules.lead.match(norm)
        notice = lead.reason if lead is not None else None
    if notice is not None and _word_count(unit, _MAX_CAPTION_WORDS) <= _MAX_LEAD_WORDS:
        return notice
    if unit[-1] in _LINK_END:
        return None
    # Both credit patterns hold a literal "/" or "©": most units have neither near their end.
    tail = norm[-120:]
    if "/" in tail and rules.credit_tail.search(tail):
        most = 2
    elif "\u00a9" in tail and _COPYRIGHT_TAIL.search(tail):
        most = 1
    else:
        return None
    if _word_count(unit, _MAX_CAPTION_WORDS) > _MAX_CAPTION_WORDS:
        return None
    return "caption_credit" if len(sentences(unit)) <= most else None


@dataclass(slots=True)
class Boilerplate:
    """What the rules kept of a body, what they removed and what the guard refused to remove.

    ``settled``: running the rules again on ``kept`` would remove nothing (``False`` only on
    adversarial input, where cuts inside a paragraph kept exposing new ones).
    """

    kept: list[str]
    removed: list[Removal]
    refused: list[Removal]
    settled: bool


def remove_boilerplate(paragraphs: list[str], headline: str) -> Boilerplate:
    """Drop boilerplate from one-line paragraphs.

    The guard: a unit of more than ``_GUARD_WORDS`` words that is more than half of the body is
    refused and kept; when the rules would leave no words at all, every removal is refused and
    the body is kept as it is. Refusals are listed so the lexicon can be fixed.
    """
    rules = _rules()
    audit = _Audit(sum(len(p) for p in paragraphs))
    settled = True
    # Normalising is per character, so the paragraphs' forms joined are the document's.
    norm_of = {paragraph: normalise(paragraph) for paragraph in paragraphs}
    doc = "\n".join(norm_of[paragraph] for paragraph in paragraphs)
    doc_words = words(doc)
    cjk = UNSPACED.search(doc) is not None
    sentence = rules.sentence.candidates(doc, doc_words, cjk)
    segment = _Cover.of(rules.segment.candidates(doc, doc_words, cjk))
    header = _Cover.of(rules.header.candidates(doc, doc_words, cjk))

    def norm(paragraph: str) -> str:
        found = norm_of.get(paragraph)
        return found if found is not None else normalise(paragraph)

    trimmed: list[str] = []
    for paragraph in paragraphs:
        # A cut joins two pieces, which could (rarely) expose a new caption or credit: the
        # in-paragraph rules run until the paragraph stops changing.
        for _ in range(_MAX_CUT_ROUNDS):
            before = paragraph
            if "|" in paragraph:
                paragraph = _cut_pipe_captions(paragraph, rules, audit)
            paragraph = _cut_bracketed_credits(paragraph, rules, audit)
            paragraph = _cut_sentences(paragraph, norm(paragraph), sentence, audit)
            paragraph = _cut_closing_credit(paragraph, rules, audit)
            if paragraph == before:
                break
        else:
            settled = False
        if paragraph:
            trimmed.append(paragraph)

    kept: list[str] = []
    seen: set[str] = set()
    headline_key = _key(normalise(headline))
    low, high = len(headline) // 2 - 10, 2 * len(headline) + 40
    previous = ""  # normalised form of the last paragraph kept
    in_related = False
    for paragraph in trimmed:
        normalised = norm(paragraph)
        if headline_key and low <= len(paragraph) <= high and _key(normalised) == headline_key:
            if audit.take(paragraph, "repeated_headline"):
                continue
        elif len(paragraph) <= _MAX_SENTENCE and header.reason(normalised):
            if audit.take(paragraph, "related_block"):
                in_related = True
                continue
        else:
            reason = _paragraph_reason(paragraph, normalised, segment, rules)
            if reason is None and in_related and _link_like(paragraph):
                reason = "related_block"
            if reason is not None and audit.take(paragraph, reason):
                continue
            if _is_duplicate(normalised, previous, seen) and audit.take(paragraph, "duplicate_paragraph"):
                continue
        in_related = False
        if paragraph[-1] in _STATEMENT_END and (
            len(paragraph) > 60 * _MIN_REPEAT_WORDS or has_words(paragraph, _MIN_REPEAT_WORDS)
        ):
            seen.add(normalised)
        kept.append(paragraph)
        previous = normalised
    if paragraphs and not any(_HAS_WORD.search(p) for p in kept) and any(_HAS_WORD.search(p) for p in paragraphs):
        return Boilerplate(list(paragraphs), [], audit.refused + audit.removed, settled=True)
    return Boilerplate(kept, audit.removed, audit.refused, settled)
