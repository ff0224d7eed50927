"""Build the enriched envelope: a ninjs ``item`` plus the ``enrichment`` ninjs cannot carry.

``item`` is written in ninjs 2.2 or 3.0 (``WIRESTREAM_NINJS_VERSION``); both official schemas
forbid extra properties, so everything of ours (offsets, confidence, dedup, audit) goes into
``enrichment``, and ``item`` validates against the official schema of its version. The two
versions carry the same facts: for what wirestream writes, 3.0 differs from 2.2 only in the
camelCase names of :data:`NAMES_30` (docs/formats.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, cast

from schemas.records import AgencyTag, DedupTag, EnrichedStory, Enrichment, Entity, Mention, StoryInFlight

#: The ninjs versions ``item`` can be written in; the first is the default.
NINJS_VERSIONS: Final = ("2.2", "3.0")
#: The properties wirestream writes whose ninjs 3.0 name differs from the 2.2 one (every other
#: property, and every value, is the same in both).
NAMES_30: Final[Mapping[str, str]] = {
    "representationtype": "representationType",
    "versioncreated": "versionCreated",
    "firstcreated": "firstCreated",
    "pubstatus": "pubStatus",
    "copyrightholder": "copyrightHolder",
    "contenttype": "contentType",
    "charcount": "charCount",
    "geojson": "geoJSON",
}
#: The ``type`` values of ninjs 2.2 (3.0 adds ``event`` and ``planning``).
TYPES_22: Final = frozenset({"text", "audio", "video", "picture", "graphic", "composite", "component"})
#: A place's position, (longitude, latitude) in degrees, by place URI (``agents.ner.linking``).
Points = Mapping[str, tuple[float, float]]

_TYPE_TO_LIST = {"PER": "people", "ORG": "organisations", "LOC": "places"}
_TAG_TO_LIST = {"person": "people", "organisation": "organisations", "place": "places", "subject": "subjects"}
_PUBSTATUS = {"usable", "withheld", "canceled"}


def build_item(
    story: StoryInFlight, entities: list[Entity], version: str = "2.2", points: Points | None = None
) -> dict[str, Any]:
    """The ninjs object of ``version`` (one of :data:`NINJS_VERSIONS`) for a story: clean text,
    detected language, entities, and a GeoJSON point on every place whose URI has a position in
    ``points``."""
    builder = _BUILDERS.get(version)
    if builder is None:
        raise ValueError(f"ninjs version {version!r} is not one of {', '.join(NINJS_VERSIONS)}")
    return builder(story, entities, points or {})


def item_versioncreated(item: Mapping[str, Any]) -> str | None:
    """The ``versioncreated`` time of an item of any version we write."""
    value = item.get("versioncreated", item.get(NAMES_30["versioncreated"]))
    return value if isinstance(value, str) else None


def _item_22(story: StoryInFlight, entities: list[Entity], points: Points) -> dict[str, Any]:
    """The ninjs 2.2 object: without ``type`` for an event or planning item (3.0 types that 2.2 lacks)."""
    item = _item(story, entities, points)
    if item.get("type", "text") not in TYPES_22:
        del item["type"]
    return item


def _item(story: StoryInFlight, entities: list[Entity], points: Points) -> dict[str, Any]:
    """The facts of the item, with the 2.2 names. ``type`` is the one the item was sent with, else
    ``text`` when it has text; a metadata-only item of unknown type gets none (ninjs does not require it)."""
    raw = story.story
    item: dict[str, Any] = {"uri": raw.uri}
    item_type = raw.item_type or ("text" if story.clean.body else None)
    if item_type is not None:
        item["type"] = item_type
    item["representationtype"] = "full"
    for name in ("version", "versioncreated", "firstcreated", "located", "slugline"):
        value = getattr(raw, name)
        if value:
            item[name] = value
    if raw.pubstatus in _PUBSTATUS:
        item["pubstatus"] = raw.pubstatus
    if raw.urgency is not None:
        item["urgency"] = raw.urgency
    if raw.byline:
        item["by"] = raw.byline
    if raw.provider:
        item["copyrightholder"] = raw.provider
    language = story.language.code if story.language.code != "und" else story.language.declared
    if language:
        item["language"] = language
    if story.clean.headline:
        item["headlines"] = [{"role": "main", "value": story.clean.headline}]
    if story.clean.body:
        item["bodies"] = [
            {"role": "main", "contenttype": "text/plain", "value": story.clean.body, "charcount": len(story.clean.body)}
        ]
    lists = _entity_lists(raw.tags, entities)
    for place in lists["places"]:
        point = points.get(place.get("uri", ""))
        if point is not None:
            place["geojson"] = {"type": "Point", "coordinates": [point[0], point[1]]}
    item.update({key: value for key, value in lists.items() if value})
    return item


def _item_30(story: StoryInFlight, entities: list[Entity], points: Points) -> dict[str, Any]:
    """The ninjs 3.0 object: the 2.2 one with the names of :data:`NAMES_30`."""
    return cast(dict[str, Any], _renamed(_item(story, entities, points), NAMES_30))


def _renamed(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every object key found in ``names`` renamed, at any depth."""
    if isinstance(value, dict):
        return {names.get(key, key): _renamed(inner, names) for key, inner in value.items()}
    if isinstance(value, list):
        return [_renamed(inner, names) for inner in value]
    return value


_BUILDERS: Final[dict[str, Callable[[StoryInFlight, list[Entity], Points], dict[str, Any]]]] = {
    "2.2": _item_22,
    "3.0": _item_30,
}


def _entity_lists(tags: list[AgencyTag], entities: list[Entity]) -> dict[str, list[dict[str, Any]]]:
    """Agency metadata first (kept as sent), then our entities (most salient first) not already
    named by the agency: ``name``, and ``uri`` when the entity is linked (Wikidata or GeoNames).
    MISC entities have no ninjs list and stay in ``enrichment`` only."""
    lists: dict[str, list[dict[str, Any]]] = {"people": [], "organisations": [], "places": [], "subjects": []}
    seen: set[tuple[str, str]] = set()
    for tag in tags:
        key = _TAG_TO_LIST[tag.kind]
        entry: dict[str, Any] = {k: v for k, v in (("name", tag.name), ("uri", tag.uri), ("literal", tag.literal)) if v}
        if entry:
            lists[key].append(entry)
            seen.add((key, (tag.name or "").casefold()))
            if tag.uri:
                seen.add((key, tag.uri))
    for entity in entities:
        key = _TYPE_TO_LIST.get(entity.type, "")
        if not key or (key, entity.name.casefold()) in seen or (entity.uri and (key, entity.uri) in seen):
            continue
        seen.add((key, entity.name.casefold()))
        entry = {"name": entity.name}
        if entity.uri:
            entry["uri"] = entity.uri
            seen.add((key, entity.uri))
        lists[key].append(entry)
    return lists


def build_enriched(
    story: StoryInFlight,
    mentions: list[Mention],
    pipeline_version: str,
    entities_model: str | None = None,
    entities: list[Entity] | None = None,
    entities_tagged_chars: int | None = None,
    ninjs_version: str = "2.2",
    points: Points | None = None,
) -> EnrichedStory:
    """The enriched envelope for a story that passed dedup: ``mentions`` are every kept
    mention, ``entities`` the merged ones (``agents/ner/resolution.resolve``); ``item`` is
    written in ``ninjs_version`` with the place positions of ``points``."""
    entities = entities or []
    dedup = story.dedup or DedupTag(fingerprint="", status="new")
    enrichment = Enrichment(
        language=story.language,
        entities=mentions,
        merged_entities=entities,
        entities_model=entities_model,
        entities_tagged_chars=entities_tagged_chars,
        dedup=dedup,
        cleaning={"removed": story.clean.removed, "refused": story.clean.refused},
        source=story.source,
        idempotency_key=story.identity,
        received_at=story.received_at,
        timings=story.timings,
        pipeline_version=pipeline_version,
    )
    return EnrichedStory(item=build_item(story, entities, ninjs_version, points), enrichment=enrichment)
