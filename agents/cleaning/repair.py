"""Character-level repair: the text of a story as it should have been typed.

Everything here works on characters, never on paragraphs or sentences. The result of
:func:`repair` is a fixed point: repairing it again changes nothing (checked, and forced
for adversarial input, see :func:`repair`).
"""

from __future__ import annotations

import html.entities
import re
import unicodedata

import ftfy

# ftfy does the hard part (mojibake, broken UTF-8, C1 controls, surrogates). It is slow
# (~1 ms per KB, most of it in its badness check), so it only runs when a cheap scan finds
# the fingerprints of mis-decoded text. Quotes and character widths are left to us: ftfy
# would straighten all curly quotes and turn CJK full-width punctuation into ASCII.
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    uncurl_quotes=False,
    fix_character_width=False,
    fix_line_breaks=True,
    normalization="NFC",
    explain=False,
)

# A UTF-8 lead byte read as Latin-1/cp1252 (Â..ô) followed by a continuation byte read the
# same way; the same for UTF-8 Cyrillic read as cp1251 (Р/С + cp1251 high chars); plus
# replacement characters, C1 controls, lone surrogates and terminal escapes.
_CP1252_HIGH = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_CP1251_HIGH = (
    "\u0401-\u040c\u040e\u040f\u0451-\u045c\u045e\u045f\u0490\u0491\u2116\u00a0-\u00bf"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_CP1252_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{_CP1252_HIGH}]")
_CP1251_MOJIBAKE = re.compile(f"[\u0420\u0421][{_CP1251_HIGH}]")
_MOJIBAKE_HINT = re.compile(
    f"{_CP1252_MOJIBAKE.pattern}|{_CP1251_MOJIBAKE.pattern}|[\ufffd\u0080-\u009f\ud800-\udfff\x1b]"
)
# The last part of the hint, for UTF-8 bytes: U+0080-U+009F encoded (see _may_be_mis_decoded).
_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")

# Line and paragraph separators of every kind become "\n" / "\n\n".
_ODD_NEWLINES = ("\r", "\x0b", "\x0c", "\x85", "\u2028")
_ODD_NEWLINE = re.compile("\r\n?|[\x0b\x0c\x85\u2028]")
_PARAGRAPH_SEPARATOR = "\u2029"

# Invisible characters that only get in a tokeniser's way: zero-width space, word joiner,
# BOM, soft hyphen, Mongolian vowel separator, combining grapheme joiner, bidi embeddings,
# overrides and isolates, LRM/RLM/ALM, and the C0/C1 controls other than \n and \t.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\x00-\x08\x0e-\x1f\x7f-\x9f"
)
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]+")
_TERMINAL_ESCAPE = re.compile(r"\x1b(?:\[[0-9;?]{0,32}[A-Za-z]|\][^\x07\x1b]{0,256}(?:\x07|\x1b\\)?)")
# ZWNJ / ZWJ are letters' business in Persian, Indic scripts and emoji: kept between two
# non-space characters, dropped where they touch a space or an edge.
_JOINERS = re.compile("[\u200c\u200d]+")

# Every Unicode space separator and the tab become a plain space.
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_SPACE_RUN = re.compile(r" {2,}")
_BLANK_RUN = re.compile(r"\n{3,}")
_LINE_EDGES = re.compile(r" *\n *")

# An apostrophe between two letters is an apostrophe, whatever glyph was used:
# l’appel, don’t, l´appel -> l'appel, don't. Quotation marks (« » “ ” ‘ and a ’ that does
# not sit between letters) are left as they are.
_APOSTROPHE = re.compile(r"[\u2019\u00b4](?<=[^\W\d_].)(?=[^\W\d_])")

# HTML character references, including double-escaped ones (&amp;lt; -> <). The chain of
# escaped ampersands and the final reference are decoded in one step, so decoding never
# creates a new reference. Unknown names are left as written (with the chain collapsed).
_ENTITY = re.compile(r"&(?:(?:amp|#0*38|#[xX]0*26);)*(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});")
_HTML5 = html.entities.html5

# Markup left in text: tags of HTML elements, declarations, processing instructions.
# Replaced by a space, which can never join the neighbours into a new tag or reference.
# fmt: off
_TAG_NAMES = frozenset((
    "a", "abbr", "address", "area", "article", "aside", "audio", "b", "base", "bdi", "bdo", "blockquote",
    "body", "br", "button", "canvas", "caption", "center", "cite", "code", "col", "colgroup", "data", "dd",
    "del", "details", "dfn", "dialog", "div", "dl", "dt", "em", "embed", "fieldset", "figcaption", "figure",
    "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
    "html", "i", "iframe", "img", "input", "ins", "kbd", "label", "legend", "li", "link", "main", "map",
    "mark", "menu", "meta", "meter", "nav", "noscript", "object", "ol", "optgroup", "option", "output", "p",
    "param", "picture", "pre", "progress", "q", "rp", "rt", "ruby", "s", "samp", "script", "section", "select",
    "small", "source", "span", "strike", "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody",
    "td", "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "tt", "u", "ul",
    "var", "video", "wbr",
))
# fmt: on
# A candidate tag: a name then space, / or >, up to the next >. Whether it is a tag is then
# decided by the name, in Python: one cheap pass instead of a 130-way alternation at every <.
_TAG = re.compile(r"<(?:/?([A-Za-z][A-Za-z0-9]{0,15})(?=[\s/>])|![A-Za-z\[]|\?)[^<>]{0,4000}>")
_TAG_START = re.compile(r"<(?:/?([A-Za-z][A-Za-z0-9]{0,15})(?=[\s/>])|![A-Za-z\[-]|\?)")


def _tag_or_text(match: re.Match[str]) -> str:
    name = match.group(1)
    return " " if name is None or name.lower() in _TAG_NAMES else match.group(0)


_MAX_ROUNDS = 3
_FTFY_MAX_LINES = 2000


def _decode_entity(match: re.Match[str]) -> str:
    ref = match.group(1)
    if ref[0] == "#":
        decoded = html.unescape("&" + ref + ";")
    else:
        decoded = _HTML5.get(ref + ";", "")
        if not decoded:
            return "&" + ref + ";"
    # A reference to an invisible character decodes to nothing (&shy; inside a word).
    return _INVISIBLE_RE.sub("", decoded)


def _strip_comments(text: str) -> str:
    if "<!--" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("<!--", pos)
        if start < 0:
            break
        end = text.find("-->", start + 4)
        if end < 0:
            break  # no later comment can close either
        out.append(text[pos:start])
        out.append(" ")
        pos = end + 3
    out.append(text[pos:])
    return "".join(out)


def has_markup(text: str) -> bool:
    """Whether :func:`strip_markup` would change ``text``: a complete comment or tag is in it.

    The clean stage sniffs a body of unknown type with this, so repaired text (which has
    none left) is never taken for HTML: that keeps cleaning idempotent.
    """
    if "<" not in text:
        return False
    start = text.find("<!--")
    if start >= 0 and text.find("-->", start + 4) >= 0:
        return True
    return any(_tag_or_text(match) == " " for match in _TAG.finditer(text))


def strip_markup(text: str) -> str:
    """Replace HTML comments, tags and declarations left in text by a space."""
    if "<" not in text:
        return text
    return _TAG.sub(_tag_or_text, _strip_comments(text))


def _fix_encoding(text: str) -> str:
    """Run ftfy on the lines that show signs of mis-decoding (ftfy works line by line too).

    ftfy costs ~50 µs a line, so a text with more than ``_FTFY_MAX_LINES`` such lines is
    left as it is rather than taking seconds: it is no article worth the wait.
    """
    lines = text.split("\n")
    broken = [i for i, line in enumerate(lines) if _MOJIBAKE_HINT.search(line)]
    if len(broken) > _FTFY_MAX_LINES:
        return text
    for i in broken:
        lines[i] = ftfy.fix_text(lines[i], _FTFY_CONFIG)
    return "\n".join(lines)


def _may_be_mis_decoded(text: str) -> bool:
    """Whether ``_MOJIBAKE_HINT`` is found in ``text``: the same answer at a third of the cost
    (one scan of the alternation costs more than its three parts, and two of them have a
    cheaper test first)."""
    if "\ufffd" in text or "\x1b" in text:
        return True
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    if b"\xc2" in data and _C1_UTF8.search(data):
        return True
    if ("\u0420" in text or "\u0421" in text) and _CP1251_MOJIBAKE.search(text):
        return True
    return _CP1252_MOJIBAKE.search(text) is not None


def _loose_joiner(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if start == 0 or end == len(text) or text[start - 1].isspace() or text[end].isspace():
        return ""
    return match.group()


def _repair_once(text: str) -> str:
    # Each step is guarded by a cheap test: most stories need few of them.
    if any(newline in text for newline in _ODD_NEWLINES):
        text = _ODD_NEWLINE.sub("\n", text)
    if not text.isascii():
        text = text.replace(_PARAGRAPH_SEPARATOR, "\n\n")
        if _may_be_mis_decoded(text):
            text = _fix_encoding(text)
    if "\x1b" in text:
        text = _TERMINAL_ESCAPE.sub("", text)
    text = _INVISIBLE_RE.sub("", text)
    if "&" in text:
        text = _ENTITY.sub(_decode_entity, text)
    text = strip_markup(text)
    if not text.isascii():
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        if "\u200c" in text or "\u200d" in text:
            text = _JOINERS.sub(_loose_joiner, text)
        if "\u2019" in text or "\u00b4" in text:
            text = _APOSTROPHE.sub("'", text)
        text = _SPACES.sub(" ", text)
    elif "\t" in text:
        text = text.replace("\t", " ")
    if "  " in text:
        text = _SPACE_RUN.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_RUN.sub("\n\n", text)
    return text.strip(" \n")


def _neutralise(text: str) -> str:
    """Break whatever still decodes or strips: only reached on adversarial input."""
    text = _ENTITY.sub(lambda m: "\uff06" + m.group(0)[1:], text)
    return _TAG_START.sub(lambda m: "\u2039" + m.group(0)[1:] if _tag_or_text(m) == " " else m.group(0), text)


def repair(text: str) -> str:
    """Repair encoding, invisible characters, entities, markup remnants and whitespace.

    Newlines are kept (runs of blank lines collapse to one); spaces collapse to one.
    The result is a fixed point of this function.
    """
    return repair_to_fixed_point(text)[0]


def repair_to_fixed_point(text: str) -> tuple[str, bool]:
    """:func:`repair`'s result, and whether it was seen to be a fixed point (repairing it again was
    tried and changed nothing): always, but on adversarial input that had to be neutralised."""
    for _ in range(_MAX_ROUNDS):
        fixed = _repair_once(text)
        if fixed == text:
            return fixed, True
        text = fixed
    text = _neutralise(text)
    return _repair_once(text), False


def repair_inline(text: str) -> str:
    """Repair a one-line field (a headline): as :func:`repair`, all whitespace one space.

    Joining lines can change what ftfy sees, so repair and join run to a fixed point.
    """
    for _ in range(_MAX_ROUNDS):
        fixed = " ".join(repair(text).split())
        if fixed == text:
            break
        text = fixed
    return text
