"""Python records that mirror the JSON Schema contracts in this folder.

The JSON Schema files are the published contract; these dataclasses are how the code
builds and reads them. ``tests/unit/test_schemas.py`` holds the two equal field by field.

Records are encoded with ``orjson`` (which serialises dataclasses natively) and decoded
with each record's ``from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EntityType = Literal["PER", "ORG", "LOC", "MISC"]
DuplicateKind = Literal["exact", "near", "stale", "translation"]
DedupStatus = Literal["new", "update"]
Stage = Literal["validate", "clean", "language", "dedup", "entities", "threads", "emit"]
#: Why a stage refused a story (``StageError.error_type``, a dead letter's ``error.type``); each is
#: described in ``agents.failures.errors.ERROR_TYPES``. A dead letter of a failure no stage foresaw (a bug)
#: carries the exception's class name instead.
ErrorType = Literal[
    "UnknownFormat",
    "EmptyPayload",
    "PayloadTooLarge",
    "InvalidUtf8",
    "InvalidEncoding",
    "UnknownEncoding",
    "InvalidJson",
    "NotAnObject",
    "MissingUri",
    "WrongFieldType",
    "InvalidFieldValue",
    "EmptyBody",
    "NotNewsItem",
    "InvalidXml",
    "UnsafeXml",
    "XmlTooDeep",
    "XmlTooLarge",
    "InvalidFraming",
    "EmptyAfterCleaning",
    "NotAnArticle",
]


def parse_timestamp(value: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (``Z`` accepted), or None if unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --------------------------------------------------------------------------- sources


@dataclass(slots=True, frozen=True)
class KafkaSource:
    """Where a message was read: topic, partition and offset."""

    topic: str
    partition: int
    offset: int

    @property
    def key(self) -> str:
        """A stable string identity, used to recognise a replayed message."""
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(slots=True, frozen=True)
class FileSource:
    """Where an offline record was read: file name (``-`` for stdin) and 1-based line."""

    file: str
    line: int

    @property
    def key(self) -> str:
        """A stable string identity, used to recognise a replayed record."""
        return f"{self.file}:{self.line}"


Source = KafkaSource | FileSource


def source_from_dict(data: dict[str, Any]) -> Source:
    """Rebuild a source from its JSON object."""
    if "topic" in data:
        return KafkaSource(str(data["topic"]), int(data["partition"]), int(data["offset"]))
    return FileSource(str(data["file"]), int(data["line"]))


# --------------------------------------------------------------------------- raw story


@dataclass(slots=True)
class AgencyTag:
    """Metadata the agency attached to an item (subject, person, organisation, place)."""

    kind: Literal["subject", "person", "organisation", "place"]
    name: str | None = None
    uri: str | None = None
    literal: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgencyTag:
        return cls(kind=data["kind"], name=data.get("name"), uri=data.get("uri"), literal=data.get("literal"))


@dataclass(slots=True)
class RawStory:
    """A raw story normalised from any accepted wire format (ninjs 1.x/2.x/3.x, ...).

    ``body`` is the payload's body as it came (plain text, an HTML fragment or a whole
    page); ``body_type`` says which media type the payload declared, if any. ``body`` is
    None for a metadata-only item (a ninjs picture, event or update without any body
    field); such an item goes through the pipeline on its headline and metadata.
    ``item_type`` is the ninjs ``type`` (text, picture, …) when the payload says it.
    """

    uri: str
    format: str = "ninjs"
    item_type: str | None = None
    version: str | None = None
    versioncreated: str | None = None
    firstcreated: str | None = None
    language: str | None = None
    headline: str | None = None
    body: str | None = None
    body_type: str | None = None
    byline: str | None = None
    located: str | None = None
    slugline: str | None = None
    urgency: int | None = None
    pubstatus: str | None = None
    url: str | None = None
    provider: str | None = None
    tags: list[AgencyTag] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RawStory:
        values = dict(data)
        values["tags"] = [AgencyTag.from_dict(t) for t in data.get("tags", [])]
        return cls(**values)


# --------------------------------------------------------------------------- stage results


@dataclass(slots=True)
class Removal:
    """One segment the clean stage removed, and why."""

    text: str
    reason: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Removal:
        return cls(text=data["text"], reason=data["reason"])


@dataclass(slots=True)
class CleanText:
    """The clean headline and body (plain text, paragraphs separated by a blank line).

    ``refused``: removals a boilerplate rule asked for and the guard refused (the unit would
    have been most of the body, or the whole of it); the text is kept.
    """

    headline: str
    body: str
    removed: list[Removal] = field(default_factory=list)
    refused: list[Removal] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanText:
        return cls(
            headline=data["headline"],
            body=data["body"],
            removed=[Removal.from_dict(r) for r in data.get("removed", [])],
            refused=[Removal.from_dict(r) for r in data.get("refused", [])],
        )


@dataclass(slots=True)
class LanguageTag:
    """Detected language (BCP-47 primary subtag or ``und``), confidence and declared one."""

    code: str
    confidence: float
    declared: str | None = None
    mismatch: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageTag:
        return cls(
            code=data["code"],
            confidence=float(data["confidence"]),
            declared=data.get("declared"),
            mismatch=bool(data.get("mismatch", False)),
        )


@dataclass(slots=True, frozen=True)
class StoryRef:
    """A story version: its ``uri`` and ``version``."""

    uri: str
    version: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoryRef:
        return cls(uri=data["uri"], version=data.get("version"))


@dataclass(slots=True, frozen=True)
class TranslationRef:
    """The story of another language that a story translates (``agents/threads.py``)."""

    uri: str
    version: str | None
    similarity: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TranslationRef:
        return cls(uri=data["uri"], version=data.get("version"), similarity=float(data["similarity"]))


@dataclass(slots=True)
class ThreadTag:
    """A story's thread: the coverage of one event across outlets, versions and languages.

    ``id`` is derived from the thread's ``first`` story; ``size`` and ``languages`` are the
    thread's when the story joined it; ``similarity`` is the story's to the member it matched
    (0 for a story that opened the thread, 1 for a new version of a member).
    """

    id: str
    first: StoryRef
    size: int
    languages: list[str]
    similarity: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThreadTag:
        return cls(
            id=data["id"],
            first=StoryRef.from_dict(data["first"]),
            size=int(data["size"]),
            languages=[str(code) for code in data["languages"]],
            similarity=float(data["similarity"]),
        )


@dataclass(slots=True)
class DedupTag:
    """The dedup decision for a story that goes on: new, or an update of an earlier version.

    ``translation_of`` is the story of another language this one translates, set by the thread
    stage (``agents/threads.py``); None when it is not a translation (and on the internal topics,
    before that stage)."""

    fingerprint: str
    status: DedupStatus
    supersedes: StoryRef | None = None
    translation_of: TranslationRef | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DedupTag:
        sup = data.get("supersedes")
        translation = data.get("translation_of")
        return cls(
            fingerprint=data["fingerprint"],
            status=data["status"],
            supersedes=StoryRef.from_dict(sup) if sup else None,
            translation_of=TranslationRef.from_dict(translation) if translation else None,
        )


@dataclass(slots=True)
class Mention:
    """One entity mention with character offsets into the clean headline or body."""

    text: str
    type: EntityType
    field: Literal["headline", "body"]
    start: int
    end: int
    name: str
    id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mention:
        return cls(**data)


@dataclass(slots=True)
class Entity:
    """One entity of a story: its mentions merged (``agents/ner/resolution.py``).

    ``name`` is the fullest form seen, ``forms`` every normalised surface form, ``uri`` the
    Wikidata (or GeoNames) URI when the entity is linked, ``salience`` a score in [0, 1].
    """

    name: str
    type: EntityType
    count: int
    first_field: Literal["headline", "body"]
    first_start: int
    salience: float
    uri: str | None
    forms: list[str]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        return cls(**data)


@dataclass(slots=True)
class TextSignature:
    """What dedup compares, computed once in stage 1 from the clean body: the fingerprint of the
    normalised text and its MinHash signature (base64 of 32-bit values), both None for a body
    without words. ``scheme`` names how they were made; dedup recomputes them on a mismatch."""

    scheme: str
    fingerprint: str | None
    minhash: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextSignature:
        return cls(scheme=data["scheme"], fingerprint=data.get("fingerprint"), minhash=data.get("minhash"))


# --------------------------------------------------------------------------- in flight


@dataclass(slots=True)
class StoryInFlight:
    """A story between stages, on the internal topics ``stories.clean`` and ``stories.unique``.

    Carries the coordinates of the raw message it came from (``source``, and
    ``item_index`` within a packet of several items): a replayed raw message has the same
    coordinates, so dedup can tell a replay from a copy. ``story`` is the raw story without
    its body (``story.body`` is None from stage 1 on): ``clean`` carries the text.
    """

    story: RawStory
    source: Source
    item_index: int
    received_at: float
    clean: CleanText
    language: LanguageTag
    dedup: DedupTag | None = None
    timings: dict[str, float] = field(default_factory=dict)
    signature: TextSignature | None = None

    @property
    def identity(self) -> str:
        """The story's raw-message coordinates as one string."""
        return f"{self.source.key}#{self.item_index}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoryInFlight:
        dedup = data.get("dedup")
        return cls(
            story=RawStory.from_dict(data["story"]),
            source=source_from_dict(data["source"]),
            item_index=int(data["item_index"]),
            received_at=float(data["received_at"]),
            clean=CleanText.from_dict(data["clean"]),
            language=LanguageTag.from_dict(data["language"]),
            dedup=DedupTag.from_dict(dedup) if dedup else None,
            timings={str(k): float(v) for k, v in data.get("timings", {}).items()},
            signature=TextSignature.from_dict(data["signature"]) if data.get("signature") else None,
        )


# --------------------------------------------------------------------------- outputs


@dataclass(slots=True)
class Enrichment:
    """What ninjs cannot carry: the ``enrichment`` half of the enriched envelope.

    ``entities_model`` names the NER model that tagged the story (``lang_name-version``), or
    is None when no model ran: a language without one, or the entity stage turned off.
    ``entities_tagged_chars`` is how many characters of the clean body the model read (the whole
    body unless it was longer than ``WIRESTREAM_ENTITIES_MAX_CHARS``), None when no model ran.
    ``entities`` keeps every mention (junk dropped); ``merged_entities`` groups them into
    entities, most salient first. ``idempotency_key`` is the raw message's coordinates and the
    story's index in it (``<topic>:<partition>:<offset>#<item>``): a story handled twice after a
    crash comes out twice with the same key, so a consumer keeps the first record per key.
    ``thread`` is the story's thread (``agents/threads.py``): set on every story of
    ``stories.enriched``, None only on the internal topic before the thread stage.
    """

    language: LanguageTag
    entities: list[Mention]
    merged_entities: list[Entity]
    entities_model: str | None
    entities_tagged_chars: int | None
    dedup: DedupTag
    cleaning: dict[str, list[Removal]]
    source: Source
    idempotency_key: str
    received_at: float
    timings: dict[str, float]
    pipeline_version: str
    thread: ThreadTag | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Enrichment:
        thread = data.get("thread")
        return cls(
            language=LanguageTag.from_dict(data["language"]),
            entities=[Mention.from_dict(m) for m in data["entities"]],
            merged_entities=[Entity.from_dict(e) for e in data["merged_entities"]],
            entities_model=data.get("entities_model"),
            entities_tagged_chars=data.get("entities_tagged_chars"),
            dedup=DedupTag.from_dict(data["dedup"]),
            cleaning={str(k): [Removal.from_dict(r) for r in v] for k, v in data["cleaning"].items()},
            source=source_from_dict(data["source"]),
            idempotency_key=data["idempotency_key"],
            received_at=float(data["received_at"]),
            timings={str(k): float(v) for k, v in data["timings"].items()},
            pipeline_version=data["pipeline_version"],
            thread=ThreadTag.from_dict(thread) if thread else None,
        )


@dataclass(slots=True)
class EnrichedStory:
    """``stories.enriched``: ``item`` is a ninjs 2.2 or 3.0 object (``WIRESTREAM_NINJS_VERSION``),
    ``enrichment`` the rest."""

    item: dict[str, Any]
    enrichment: Enrichment

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrichedStory:
        return cls(item=dict(data["item"]), enrichment=Enrichment.from_dict(data["enrichment"]))


@dataclass(slots=True)
class ThreadMember:
    """A story of a thread: its ``uri``, ``version`` and detected language."""

    uri: str
    version: str | None
    language: str


@dataclass(slots=True)
class ThreadEntity:
    """A leading entity of a thread: its Wikidata URI (its name when not linked) and how many of
    the thread's stories name it."""

    entity: str
    stories: int


@dataclass(slots=True)
class ThreadSummary:
    """``stories.threads`` (compacted, key: ``id``): a thread's current state. ``first`` is the
    story that opened it; ``first_seen`` and ``last_seen`` the arrival times of its first and
    newest stories; ``size`` counts its stories, ``languages`` them per language; ``entities``
    are the most named, ``members`` the newest stories (at most 50)."""

    id: str
    first: StoryRef
    first_seen: float
    last_seen: float
    size: int
    languages: dict[str, int]
    entities: list[ThreadEntity]
    members: list[ThreadMember]


@dataclass(slots=True)
class DuplicateNotice:
    """``stories.duplicates``: a copy or a stale version, linked to the story it repeats; with
    ``WIRESTREAM_TRANSLATIONS=duplicate``, also a translation (kind ``translation``, ``duplicate_of``
    its original). ``idempotency_key`` as in :class:`Enrichment`: the same for every copy of this notice."""

    uri: str
    version: str | None
    kind: DuplicateKind
    duplicate_of: StoryRef
    similarity: float
    detected_at: float
    source: Source
    idempotency_key: str


@dataclass(slots=True)
class ErrorInfo:
    """Which stage failed, the error's type, and a message a person understands.

    ``reason`` refines the type where a desk sorts by it: for ``NotAnArticle`` one of
    ``consent_wall``, ``paywall``, ``bot_check``, ``error_page``, ``empty_shell``.
    """

    stage: Stage
    type: str
    message: str
    reason: str | None = None


@dataclass(slots=True)
class DeadLetter:
    """``stories.deadletter``: a message that could not be processed, kept whole for replay."""

    error: ErrorInfo
    payload: str
    payload_encoding: Literal["utf-8", "base64"]
    source: Source
    failed_at: float
