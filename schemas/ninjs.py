"""Build the enriched envelope: a ninjs 2.2 ``item`` plus the ``enrichment`` ninjs cannot carry.

The ninjs 2.2 schema forbids extra properties, so everything of ours (offsets, confidence,
dedup, audit) goes into ``enrichment``; ``item`` validates against the official schema.
"""

from __future__ import annotations

from typing import Any

from schemas.records import AgencyTag, DedupTag, EnrichedStory, Enrichment, Entity, Mention, StoryInFlight

_TYPE_TO_LIST = {"PER": "people", "ORG": "organisations", "LOC": "places"}
_TAG_TO_LIST = {"person": "people", "organisation": "organisations", "place": "places", "subject": "subjects"}
_PUBSTATUS = {"usable", "withheld", "canceled"}


def build_item(story: StoryInFlight, entities: list[Entity]) -> dict[str, Any]:
    """The ninjs 2.2 object for a story: clean text, detected language, entities."""
    raw = story.story
    item: dict[str, Any] = {"uri": raw.uri, "type": raw.item_type or "text", "representationtype": "full"}
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
    item.update({key: value for key, value in lists.items() if value})
    return item


def _entity_lists(tags: list[AgencyTag], entities: list[Entity]) -> dict[str, list[dict[str, str]]]:
    """Agency metadata first (kept as sent), then our entities (most salient first) not already
    named by the agency: ``name``, and ``uri`` when the entity is linked (Wikidata or GeoNames).
    MISC entities have no ninjs list and stay in ``enrichment`` only."""
    lists: dict[str, list[dict[str, str]]] = {"people": [], "organisations": [], "places": [], "subjects": []}
    seen: set[tuple[str, str]] = set()
    for tag in tags:
        key = _TAG_TO_LIST[tag.kind]
        entry = {k: v for k, v in (("name", tag.name), ("uri", tag.uri), ("literal", tag.literal)) if v}
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
) -> EnrichedStory:
    """The enriched envelope for a story that passed dedup: ``mentions`` are every kept
    mention, ``entities`` the merged ones (``agents/entity_resolution.resolve``)."""
    entities = entities or []
    dedup = story.dedup or DedupTag(fingerprint="", status="new")
    enrichment = Enrichment(
        language=story.language,
        entities=mentions,
        merged_entities=entities,
        entities_model=entities_model,
        entities_tagged_chars=entities_tagged_chars,
        dedup=dedup,
        cleaning={"removed": story.clean.removed},
        source=story.source,
        received_at=story.received_at,
        timings=story.timings,
        pipeline_version=pipeline_version,
    )
    return EnrichedStory(item=build_item(story, entities), enrichment=enrichment)
