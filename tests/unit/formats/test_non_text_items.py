"""Pictures, graphics, video, audio and packages pass as metadata-only items whatever format they
came in; a text item without its text stays a dead letter (docs/formats.md, "Items without text")."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson
import pytest

from agents.clean import prepare
from agents.dedup import deduplicate
from agents.failures.errors import StageError
from agents.formats import parse_payload
from schemas.ninjs import build_item
from schemas.records import DeadLetter, DuplicateNotice, KafkaSource, RawStory, StoryInFlight

G2 = 'xmlns="http://iptc.org/std/nar/2006-10-01/"'

G2_PICTURE = f"""<newsItem {G2} guid="urn:newsml:example.org:pic9" version="2" xml:lang="en">
  <itemMeta><itemClass qcode="ninat:picture"/><provider literal="Example Wire"/>
    <versionCreated>2024-03-05T11:00:00Z</versionCreated><pubStatus qcode="stat:usable"/></itemMeta>
  <contentMeta><urgency>4</urgency><headline>Firefighters at the harbour</headline><by>Ann Photo</by>
    <subject type="cpnat:person" literal="jane"><name>Jane Smith</name></subject></contentMeta>
  <contentSet><remoteContent contenttype="image/jpeg" href="https://example.org/pic9.jpg"/></contentSet>
</newsItem>""".encode()

#: The same picture as ninjs 2.x sends it.
NINJS_PICTURE: dict[str, Any] = {
    "uri": "urn:newsml:example.org:pic9",
    "type": "picture",
    "version": "2",
    "versioncreated": "2024-03-05T11:00:00Z",
    "pubstatus": "usable",
    "urgency": 4,
    "language": "en",
    "headline": "Firefighters at the harbour",
    "by": "Ann Photo",
    "copyrightholder": "Example Wire",
    "people": [{"name": "Jane Smith", "literal": "jane"}],
}

G2_PACKAGE = f"""<packageItem {G2} guid="urn:newsml:example.org:pkg9" version="1">
  <itemMeta><itemClass qcode="ninat:composite"/><versionCreated>2024-03-05T12:00:00Z</versionCreated></itemMeta>
  <contentMeta><headline>Harbour fire: the story and its pictures</headline></contentMeta>
  <groupSet root="G1"><group id="G1" role="group:main">
    <itemRef residref="urn:newsml:example.org:story9"/><itemRef residref="urn:newsml:example.org:pic9"/>
  </group></groupSet>
</packageItem>""".encode()

#: A text item whose text is missing (an empty paragraph), beside a concept item: nothing to pass.
G2_BROKEN = f"""<newsMessage {G2}><itemSet>
  <newsItem guid="urn:newsml:example.org:story9" version="1">
    <itemMeta><itemClass qcode="ninat:text"/></itemMeta>
    <contentSet><inlineXML contenttype="application/xhtml+xml"><html><body><p/></body></html></inlineXML></contentSet>
  </newsItem>
  <conceptItem guid="urn:newsml:example.org:person1"><concept><type qcode="cpnat:person"/></concept></conceptItem>
</itemSet></newsMessage>""".encode()


def without_format(story: RawStory) -> dict[str, Any]:
    facts = asdict(story)
    del facts["format"]
    return facts


def test_a_g2_picture_is_the_same_metadata_only_item_as_the_ninjs_picture() -> None:
    (g2,) = parse_payload(G2_PICTURE)
    (ninjs,) = parse_payload(orjson.dumps(NINJS_PICTURE))
    assert (g2.format, g2.item_type, g2.body, g2.headline) == ("newsml-g2", "picture", None, NINJS_PICTURE["headline"])
    assert without_format(g2) == without_format(ninjs)


def test_a_g2_package_is_a_metadata_only_composite_item() -> None:
    (package,) = parse_payload(G2_PACKAGE, "application/vnd.iptc.g2.packageitem+xml")
    assert (package.uri, package.version, package.item_type, package.body) == (
        "urn:newsml:example.org:pkg9",
        "1",
        "composite",
        None,
    )
    assert package.headline == "Harbour fire: the story and its pictures"
    assert package.versioncreated == "2024-03-05T12:00:00Z"


def test_a_text_item_without_its_text_is_still_a_dead_letter() -> None:
    with pytest.raises(StageError) as info:
        parse_payload(G2_BROKEN)
    assert (info.value.error_type, info.value.message) == (
        "EmptyBody",
        "newsml-g2 text item 'urn:newsml:example.org:story9' has no body",
    )


@pytest.mark.parametrize(
    "payload",
    [
        G2_BROKEN.replace(b'"ninat:text"/>', b'"ninat:text"/><pubStatus qcode="stat:canceled"/>'),
        orjson.dumps(
            {"uri": "urn:newsml:example.org:story9", "type": "text", "pubstatus": "canceled", "body_html": "<p/>"}
        ),
    ],
    ids=["newsml-g2", "ninjs"],
)
def test_a_cancelled_text_item_needs_no_text(payload: bytes) -> None:
    """A kill notice (Reuters sends its cancellations with an empty ``<p/>``) is not broken: it passes
    as a metadata-only item, so downstream learns the story is withdrawn."""
    (notice,) = parse_payload(payload)
    assert (notice.uri, notice.item_type, notice.pubstatus, notice.body) == (
        "urn:newsml:example.org:story9",
        "text",
        "canceled",
        None,
    )


def test_a_package_without_a_guid_does_not_cost_the_message_its_text() -> None:
    """A BusinessDesk message wraps its text item in a bare ``<packageItem>`` (Superdesk's scoop.xml)."""
    message = f"""<newsMessage {G2}><itemSet>
      <packageItem><itemRef residref="story9"/></packageItem>
      <newsItem guid="story9"><itemMeta><itemClass qcode="ninat:text"/></itemMeta>
        <contentSet><inlineData contenttype="text/plain">The harbour reopened.</inlineData></contentSet></newsItem>
    </itemSet></newsMessage>""".encode()
    assert [(s.uri, s.item_type) for s in parse_payload(message)] == [("story9", "text")]
    with pytest.raises(StageError) as info:  # alone, it has nothing to be known by
        parse_payload(f"<packageItem {G2}/>".encode())
    assert info.value.error_type == "MissingUri"


def stage_one(payload: bytes, offset: int) -> StoryInFlight:
    (outcome,) = prepare(payload, None, KafkaSource("stories.raw", 0, offset), 1000.0 + offset, 1 << 20)
    assert isinstance(outcome, StoryInFlight), outcome
    return outcome


def test_one_path_downstream_no_cleaning_and_dedup_by_uri_and_version() -> None:
    g2 = stage_one(G2_PICTURE, 1)
    assert (g2.clean.body, g2.clean.removed) == ("", [])  # nothing to clean
    assert g2.signature is not None and (g2.signature.fingerprint, g2.signature.minhash) == (None, None)
    state: dict[str, Any] = {}
    first = deduplicate(g2, state, 3600.0)
    assert isinstance(first, StoryInFlight) and first.dedup is not None and first.dedup.status == "new"
    # The same picture again, now as ninjs: the same uri and version, so an exact duplicate.
    resend = deduplicate(stage_one(orjson.dumps(NINJS_PICTURE), 2), state, 3600.0)
    assert isinstance(resend, DuplicateNotice) and resend.kind == "exact"
    newer = deduplicate(stage_one(orjson.dumps({**NINJS_PICTURE, "version": "3"}), 3), state, 3600.0)
    assert isinstance(newer, StoryInFlight) and newer.dedup is not None and newer.dedup.status == "update"
    item = build_item(first, [])
    assert (item["type"], "bodies" in item, item["headlines"]) == (
        "picture",
        False,
        [{"role": "main", "value": "Firefighters at the harbour"}],
    )


def test_a_concept_item_is_a_dead_letter_of_its_own_type() -> None:
    payload = f"<conceptItem {G2} guid='p1'><concept><type qcode='cpnat:person'/></concept></conceptItem>".encode()
    (letter,) = prepare(payload, None, KafkaSource("stories.raw", 0, 0), 0.0, 1 << 20)
    assert isinstance(letter, DeadLetter)
    assert (letter.error.stage, letter.error.type) == ("validate", "NotNewsItem")
