"""Turn a story's entity mentions into entities: junk dropped, variants merged, well-known ones linked.

Pure functions over :class:`~schemas.records.Mention` lists (no model, no I/O beyond the
linker's tables, loaded once). Steps, for one story:

1. **Junk filter** (:func:`is_junk`): elision fragments ("n’", "qu’"), names without a letter,
   one-letter names, names with no capital in a cased script, and page chrome ("Share Post",
   "Stay Connected", "Subscribe", photo credits) never become entities.
2. **Grouping**: mentions of the same type with the same folded name (case, accents,
   apostrophes, possessive and elided article ignored: "l’OTAN", "OTAN", "Otan").
3. **Linking** (:mod:`agents.ner.linking`): each group's name is looked up; groups that link to
   the same URI merge, whatever their surface form or language ("Poutine"/"Putin"/"Путин").
4. **Short forms** (people only): a PER group whose tokens are the leading or trailing tokens
   of exactly one longer PER group merges into it ("Poutine" → "Vladimir Poutine",
   "Biden" → "Joe Biden"), unless both are linked to different URIs. Places and
   organisations are not merged this way: "Europe" is not "Europe de l'Est", nor "États"
   "États-Unis". An unlinked ORG/LOC/MISC group that is such a short form of exactly one
   person is that person mistyped by the model ("Macron" tagged LOC) and merges into it.
5. **Places tagged as people**: an unlinked PER group left after step 4 whose name is a place
   ("Roma", "Polska") is that place.
6. **Types**: every kept mention takes its entity's type, so mentions and entities agree.

Salience, in [0, 1]: ``0.4 × in headline + 0.3 × earliness + 0.3 × frequency``, where earliness
is 1 for a headline mention, else ``1 − first body offset / body length``, and frequency is the
entity's mention count over the story's largest count. Entities come out most salient first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.ner.linking import Link, fold, linker
from schemas.records import Entity, EntityType, Mention

_CURLY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})
_LEADING_ELISION = re.compile(r"^(?:[dlnsjmtc]|qu|jusqu|lorsqu|puisqu)'(?=\w)", re.IGNORECASE)
_ELISION_ONLY = re.compile(r"^(?:[dlnsjmtc]|qu|jusqu|lorsqu|puisqu)'?$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:'s|s')$", re.IGNORECASE)
_EDGE = " \"'«»“”‘’„‚‹›-–—.,;:()[]{}!?*•·|/\\"
#: Scraped page chrome seen on the wire (folded); a mention equal to one of these is dropped.
CHROME = frozenset(
    fold(text)
    for text in (
        "Share Post",
        "Share",
        "Share this",
        "Share this article",
        "Stay Connected",
        "Subscribe",
        "Subscribe Now",
        "Newsletter",
        "Sign up",
        "Sign in",
        "Log in",
        "Login",
        "Follow us",
        "Read more",
        "Related",
        "Related Articles",
        "Advertisement",
        "Cookie",
        "Cookies",
        "Privacy Policy",
        "Terms of Use",
        "Comments",
        "Print",
        "Email",
        "Partager",
        "Abonnez-vous",
        "S'abonner",
        "Lire aussi",
        "Lire la suite",
        "Publicité",
        "Teilen",
        "Abonnieren",
        "Mehr zum Thema",
        "Compartir",
        "Suscríbete",
        "Condividi",
        "Iscriviti",
        "Partilhar",
        "Compartilhar",
        "Delen",
        "Udostępnij",
        "Поделиться",
        "Подписаться",
        "Getty Images",
        "AFP Photo",
        "AP Photo",
        "Reuters Photo",
        "EPA Photo",
        "Photo",
        "Foto",
        "Image",
        "Crédit photo",
        "Photo credit",
    )
)
#: Photo credits: "Photo: …", "© AFP", "Getty Images via …", "(AP Photo/…)".
_CREDIT = re.compile(
    r"^(?:©|\(?(?:photo|foto|image|crédit|credit|credits|bildquelle|quelle)\b)"
    r"|getty images|(?:ap|afp|epa|reuters) ?(?:photo|/)",
    re.IGNORECASE,
)
#: A span ending on one of these was cut mid-phrase by the model ("ministre russe des Affaires" is
#: fine, "Renforcement militaire de la" is not).
_DANGLING = frozenset(
    [
        "de",
        "la",
        "le",
        "les",
        "des",
        "du",
        "d",
        "l",
        "of",
        "the",
        "and",
        "et",
        "und",
        "der",
        "die",
        "das",
        "von",
        "del",
        "y",
        "e",
        "di",
        "da",
        "do",
        "dos",
        "das",
        "van",
        "het",
    ]
)
#: Weekdays and months (en, fr, de, es, it, pt, nl): capitalised at a sentence start, never entities.
_CALENDAR = frozenset(
    fold(word)
    for word in [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
        "lunedì",
        "martedì",
        "mercoledì",
        "giovedì",
        "venerdì",
        "sabato",
        "domenica",
        "segunda",
        "terça",
        "quarta",
        "quinta",
        "sexta",
        "maandag",
        "dinsdag",
        "woensdag",
        "donderdag",
        "vrijdag",
        "zaterdag",
        "zondag",
        "January",
        "February",
        "March",
        "April",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "janvier",
        "février",
        "mars",
        "avril",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
        "Januar",
        "Februar",
        "März",
        "Juni",
        "Juli",
        "Oktober",
        "Dezember",
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
        "gennaio",
        "febbraio",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "settembre",
        "ottobre",
        "dicembre",
        "janeiro",
        "fevereiro",
        "março",
        "maio",
        "junho",
        "julho",
        "setembro",
        "outubro",
        "dezembro",
        "januari",
        "februari",
        "maart",
        "mei",
        "juni",
        "juli",
        "augustus",
        "oktober",
    ]
)
_WEIGHTS = (0.4, 0.3, 0.3)
#: Wire flags written in capitals before a headline ("ANULADA: …", "URGENT - …"); not entities.
_WIRE_FLAGS = frozenset(
    fold(text)
    for text in (
        "ANULADA",
        "ANULADO",
        "ANNULÉ",
        "ANNULATION",
        "RECTIFICATIF",
        "CORRECTION",
        "CORRECTED",
        "CORRECCIÓN",
        "KORREKTUR",
        "URGENT",
        "URGENTE",
        "EILMELDUNG",
        "BREAKING",
        "FLASH",
        "BULLETIN",
        "ALERTA",
        "ALERT",
        "UPDATE",
        "ACTUALIZACIÓN",
        "ACTUALISATION",
        "EMBARGO",
        "EMBARGOED",
        "KILL",
        "WITHDRAWN",
        "ADVISORY",
        "REFILE",
        "REPEAT",
    )
)
#: Articles the model sometimes takes into a span from running text ("la France"); dropped from
#: the name only when written in lower case, so "Los Angeles" and "La Paz" keep theirs.
_LOWER_ARTICLES = frozenset(
    ["the", "la", "le", "les", "el", "los", "las", "lo", "il", "gli", "die", "der", "das", "het"]
)
#: Titles and offices (folded). "président Macron" is named "Macron"; a span that is only an office
#: ("ministre de l'Économie", "El ministro de Agricultura") is not an entity.
_ROLES = frozenset(
    fold(text)
    for text in (
        # en
        "president", "vice", "prime", "minister", "secretary", "chancellor", "senator", "governor", "mayor",
        "king", "queen", "pope", "spokesman", "spokeswoman", "ambassador", "chairman", "chairwoman", "ceo",
        # fr
        "président", "présidente", "premier", "première", "ministre", "secrétaire", "chancelier", "chancelière",
        "sénateur", "sénatrice", "député", "députée", "maire", "roi", "reine", "pape", "porte-parole",
        "ambassadeur", "ambassadrice",
        # es, it, pt
        "presidente", "presidenta", "ministro", "ministra", "secretario", "secretaria", "canciller", "alcalde",
        "alcaldesa", "rey", "reina", "papa", "portavoz", "sindaco", "prefeito", "rei",
        # de, nl, pl
        "präsident", "präsidentin", "ministerin", "kanzler", "kanzlerin", "bundeskanzler", "bundeskanzlerin",
        "außenminister", "außenministerin", "bürgermeister", "bürgermeisterin", "könig", "papst", "koning",
        "burgemeester", "prezydent", "premiera",
        # ru
        "президент", "премьер", "министр", "глава", "канцлер", "мэр",
    )
)  # fmt: skip
_SENTENCE_BREAK = re.compile(r"(?<=\w{5})\.\s+(?=[A-ZÀ-ÖØ-ÞА-Я])")


def normalise_name(text: str) -> str:
    """The canonical surface form of a mention: straight apostrophes, single spaces, no elided
    article ("l'OTAN" → "OTAN"), no possessive ("Putin's" → "Putin"), no edge punctuation."""
    name = " ".join(unicodedata.normalize("NFC", text).translate(_CURLY).split())
    name = name.strip(_EDGE)
    name = _LEADING_ELISION.sub("", name)
    name = _POSSESSIVE.sub("", name)
    return name.strip(_EDGE)


def is_junk(text: str, name: str | None = None) -> bool:
    """True if a tagged span is not an entity: an elision fragment, no letters, a single letter,
    all lower case in a cased script, page chrome, a photo credit, a weekday or month name, or
    a span cut before its end ("Renforcement militaire de la")."""
    raw = " ".join(text.translate(_CURLY).split())
    name = normalise_name(text) if name is None else name
    if _ELISION_ONLY.match(raw.strip(_EDGE.replace("'", ""))) or len(name) < 2:
        return True
    letters = [ch for ch in name if ch.isalpha()]
    if not letters or (len(letters) < 2 and len(name) < 3):
        return True
    cased = [ch for ch in letters if ch.lower() != ch.upper()]
    if cased and not any(ch.isupper() for ch in cased):
        return True
    key = fold(name)
    if key in CHROME or key in _CALENDAR or bool(_CREDIT.search(raw)):
        return True
    words = key.split()
    return len(words) > 1 and words[-1] in _DANGLING


def mention_name(text: str, entity_type: str) -> str | None:
    """The name a tagged span stands for, or None when it is not an entity.

    Normalised (:func:`normalise_name`), cut at a sentence break the model ran across
    ("Cataluña. El ministro…" → "Cataluña"), a lower-case leading article dropped ("la France" →
    "France"), a leading title dropped from a person unless the whole is a known name ("président
    Macron" → "Macron", "Pope Leo XIV" kept). None for junk (:func:`is_junk`), wire flags in capitals
    ("ANULADA"), an article before common nouns ("Las organizaciones agrarias") and spans that are only
    an office ("ministre de l'Économie").
    """
    name = normalise_name(text)
    if is_junk(text, name) or (name.isupper() and fold(name) in _WIRE_FLAGS):
        return None
    name = _SENTENCE_BREAK.split(name, maxsplit=1)[0]
    words = name.split()
    if len(words) > 1 and words[0].lower() in _LOWER_ARTICLES and not any(c.isupper() for c in "".join(words[1:])):
        return None  # "Las organizaciones agrarias": a common noun phrase
    if len(words) > 1 and words[0] in _LOWER_ARTICLES and words[1][:1].isupper():
        words = words[1:]
    if len(words) > 2 and words[0].lower() in _LOWER_ARTICLES and fold(words[1]) in _ROLES:
        words = words[1:]  # "El ministro de …"
    roles = 0
    while roles < len(words) and fold(words[roles]) in _ROLES:
        roles += 1
    if roles and linker().lookup(entity_type, " ".join(words)) is None:
        rest = words[roles:]
        if not rest or not rest[0][:1].isupper():
            return None  # an office, not someone or something named
        if entity_type == "PER":
            words = rest
    name = " ".join(words)
    return None if is_junk(name, name) else name


@dataclass(slots=True)
class _Group:
    type: EntityType
    key: str
    mentions: list[Mention] = field(default_factory=list)
    link: Link | None = None

    @property
    def tokens(self) -> list[str]:
        return self.key.split()


def resolve(mentions: Sequence[Mention], body_length: int) -> tuple[list[Mention], list[Entity]]:
    """Drop junk mentions, merge the rest into entities and link them.

    Returns the kept mentions (``name`` normalised, ``id`` set to the entity's URI when
    linked) and the entities, most salient first. ``body_length`` is the clean body's length
    (for earliness).
    """
    kept: list[Mention] = []
    for mention in mentions:
        name = mention_name(mention.text, mention.type)
        if name is None:
            continue
        mention.name = name
        kept.append(mention)
    groups = _group(kept)
    merged = _merge(groups)
    entities: list[tuple[_Group, Entity]] = []
    largest = max((len(group.mentions) for group in merged), default=1)
    for group in merged:
        uri = group.link.uri if group.link else None
        for mention in group.mentions:
            mention.id = uri
            mention.type = group.type  # a mention is of its entity's type ("Italia" tagged ORG is a place)
        entities.append((group, _entity(group, largest, body_length)))
    entities.sort(key=lambda pair: (-pair[1].salience, _order(pair[0].mentions[0])))
    return kept, [entity for _, entity in entities]


def _group(mentions: list[Mention]) -> list[_Group]:
    lookup = linker().lookup
    groups: dict[tuple[str, str], _Group] = {}
    for mention in mentions:
        key = fold(mention.name)
        group = groups.get((mention.type, key))
        if group is None:
            group = groups[(mention.type, key)] = _Group(mention.type, key)
            group.link = lookup(mention.type, mention.name)
            if group.link is not None and mention.type != "MISC":
                group.type = group.link.kind
        group.mentions.append(mention)
    return list(groups.values())


def _drop_initial_articles(groups: list[_Group]) -> list[_Group]:
    """Merge "El Gobierno de España" into "Gobierno de España" when the story names it both ways.

    A capitalised article is kept by :func:`mention_name` ("El Paso", "Los Angeles", "La Paz"), but
    at the start of a sentence the model often takes it into the span. When the same story also
    has the name without it, the article was not part of the name.
    """
    by_key = {(group.type, group.key): group for group in groups}
    kept: list[_Group] = []
    for group in groups:
        tokens = group.tokens
        target = None
        if len(tokens) > 1 and tokens[0] in _LOWER_ARTICLES:
            target = by_key.get((group.type, " ".join(tokens[1:])))
        if target is None:
            kept.append(group)
            continue
        for mention in group.mentions:
            mention.name = mention.name.split(" ", 1)[1]
        target.mentions.extend(group.mentions)
    return kept


def _merge(groups: list[_Group]) -> list[_Group]:
    result = _join_same_uri(_drop_initial_articles(groups))
    # Short forms into the one longer person name they start or end ("Poutine" → "Vladimir Poutine").
    result.sort(key=lambda g: (g.type != "PER", -len(g.tokens)))
    final: list[_Group] = []
    for group in result:
        tokens = group.tokens
        candidates = [
            longer
            for longer in final
            if longer.type == "PER"
            and (group.type == "PER" or group.link is None)
            and len(longer.tokens) >= len(tokens) + (group.type == "PER")
            and (longer.tokens[: len(tokens)] == tokens or longer.tokens[-len(tokens) :] == tokens)
            and not (group.link and longer.link and group.link.uri != longer.link.uri)
        ]
        if len(candidates) == 1:
            longer = candidates[0]
            longer.mentions.extend(group.mentions)
            longer.link = longer.link or group.link
        else:
            final.append(group)
    final = _places_tagged_as_people(final)
    for group in final:
        group.mentions.sort(key=_order)
    return final


def _join_same_uri(groups: list[_Group]) -> list[_Group]:
    """Groups linked to the same URI as one, whatever the surface form or language."""
    by_uri: dict[str, _Group] = {}
    result: list[_Group] = []
    for group in groups:
        if group.link is None:
            result.append(group)
            continue
        target = by_uri.get(group.link.uri)
        if target is None:
            by_uri[group.link.uri] = group
            result.append(group)
        else:
            target.mentions.extend(group.mentions)
    return result


def _places_tagged_as_people(groups: list[_Group]) -> list[_Group]:
    """A "person" that no person list knows but the places list does is that place ("Roma",
    "Polska" tagged PER), and joins the story's group for that place if it has one.

    Runs after short forms have joined longer person names, so "Jordan" next to "Michael Jordan"
    stays a person; a person known by a place's name alone (a "Santiago" who is never given a
    surname in the story) is the price.
    """
    for group in groups:
        place = linker().tables["LOC"].get(group.key) if group.type == "PER" and group.link is None else None
        if place is not None:
            group.type, group.link = "LOC", place
    return _join_same_uri(groups)


def _order(mention: Mention) -> tuple[int, int]:
    return (0 if mention.field == "headline" else 1, mention.start)


def _entity(group: _Group, largest: int, body_length: int) -> Entity:
    mentions = group.mentions
    first = mentions[0]
    forms = list(dict.fromkeys(m.name for m in mentions))
    if group.type == "PER":
        name = max(forms, key=lambda form: (len(form.split()), len(form)))
    else:
        counts = {form: sum(1 for m in mentions if m.name == form) for form in forms}
        name = max(forms, key=lambda form: counts[form])
    in_headline = any(m.field == "headline" for m in mentions)
    earliness = 1.0 if in_headline else max(0.0, 1.0 - first.start / max(1, body_length))
    frequency = len(mentions) / max(1, largest)
    salience = _WEIGHTS[0] * in_headline + _WEIGHTS[1] * earliness + _WEIGHTS[2] * frequency
    return Entity(
        name=name,
        type=group.type,
        count=len(mentions),
        first_field=first.field,
        first_start=first.start,
        salience=round(salience, 3),
        uri=group.link.uri if group.link else None,
        forms=forms,
    )
