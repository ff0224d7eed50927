"""The ninjs ``item`` in each version wirestream writes (2.2, 3.0), and the points of its places.

Checked here against objects written out by hand; validation against IPTC's official schemas
is ``tests/shared/test_ninjs_contract.py`` and the CI contract check (``bench/check_ninjs.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from agents.ner.linking import linker
from agents.ner.resolution import normalise_name, resolve
from schemas.ninjs import NAMES_30, NINJS_VERSIONS, build_enriched, build_item, item_versioncreated
from schemas.records import (
    AgencyTag,
    DedupTag,
    Entity,
    EntityType,
    FileSource,
    Mention,
    RawStory,
    StoryInFlight,
)
from tests.factories import story_in_flight

PARIS = "https://www.wikidata.org/entity/Q90"
FRANCE = "https://www.wikidata.org/entity/Q142"
MACRON = "https://www.wikidata.org/entity/Q3052772"
HEADLINE = "Macron à Paris"
BODY = "Emmanuel Macron a reçu à Paris le maire de Lyonville. La France attend."


def full_story(tags: list[AgencyTag] | None = None) -> StoryInFlight:
    """A story with every field the item carries."""
    raw = RawStory(
        uri="urn:test:ninjs",
        item_type="text",
        version="2",
        versioncreated="2026-11-20T09:05:00Z",
        firstcreated="2026-11-20T09:00:00Z",
        located="Paris",
        slugline="france-politique",
        urgency=3,
        pubstatus="usable",
        byline="Service politique",
        provider="Sample Wire",
        tags=tags or [AgencyTag("subject", name="politics", uri="http://cv.iptc.org/newscodes/mediatopic/11000000")],
    )
    return story_in_flight(
        BODY,
        raw=raw,
        headline=HEADLINE,
        language="fr",
        declared="fr",
        source=FileSource("test", 1),
        received_at=0.0,
        dedup=DedupTag("f" * 32, "new"),
    )


def mention(text: str, kind: EntityType, start: int) -> Mention:
    return Mention(text, kind, "body", start, start + len(text), normalise_name(text))


def entities() -> list[Entity]:
    found = [mention("Emmanuel Macron", "PER", 0), mention("Paris", "LOC", 25), mention("Lyonville", "LOC", 44)]
    found.append(mention("France", "LOC", BODY.index("France")))
    return resolve(found, len(BODY))[1]


EXPECTED_22: dict[str, Any] = {
    "uri": "urn:test:ninjs",
    "type": "text",
    "representationtype": "full",
    "version": "2",
    "versioncreated": "2026-11-20T09:05:00Z",
    "firstcreated": "2026-11-20T09:00:00Z",
    "located": "Paris",
    "slugline": "france-politique",
    "pubstatus": "usable",
    "urgency": 3,
    "by": "Service politique",
    "copyrightholder": "Sample Wire",
    "language": "fr",
    "headlines": [{"role": "main", "value": HEADLINE}],
    "bodies": [{"role": "main", "contenttype": "text/plain", "value": BODY, "charcount": len(BODY)}],
    "people": [{"name": "Emmanuel Macron", "uri": MACRON}],
    "places": [
        {"name": "Paris", "uri": PARIS, "geojson": {"type": "Point", "coordinates": [2.3488, 48.85341]}},
        {"name": "Lyonville"},
        {"name": "France", "uri": FRANCE, "geojson": {"type": "Point", "coordinates": [2.0, 46.0]}},
    ],
    "subjects": [{"name": "politics", "uri": "http://cv.iptc.org/newscodes/mediatopic/11000000"}],
}
EXPECTED_30: dict[str, Any] = {
    "uri": "urn:test:ninjs",
    "type": "text",
    "representationType": "full",
    "version": "2",
    "versionCreated": "2026-11-20T09:05:00Z",
    "firstCreated": "2026-11-20T09:00:00Z",
    "located": "Paris",
    "slugline": "france-politique",
    "pubStatus": "usable",
    "urgency": 3,
    "by": "Service politique",
    "copyrightHolder": "Sample Wire",
    "language": "fr",
    "headlines": [{"role": "main", "value": HEADLINE}],
    "bodies": [{"role": "main", "contentType": "text/plain", "value": BODY, "charCount": len(BODY)}],
    "people": [{"name": "Emmanuel Macron", "uri": MACRON}],
    "places": [
        {"name": "Paris", "uri": PARIS, "geoJSON": {"type": "Point", "coordinates": [2.3488, 48.85341]}},
        {"name": "Lyonville"},
        {"name": "France", "uri": FRANCE, "geoJSON": {"type": "Point", "coordinates": [2.0, 46.0]}},
    ],
    "subjects": [{"name": "politics", "uri": "http://cv.iptc.org/newscodes/mediatopic/11000000"}],
}


@pytest.mark.parametrize(("version", "expected"), [("2.2", EXPECTED_22), ("3.0", EXPECTED_30)])
def test_item_carries_every_fact_in_each_version(version: Any, expected: dict[str, Any]) -> None:
    item = build_item(full_story(), entities(), version, linker().points)
    assert item == expected
    assert list(item) == list(expected)  # the same order of properties in both versions


def test_the_two_versions_differ_only_in_the_renamed_properties() -> None:
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for inner in value.values() for k in keys(inner)}
        if isinstance(value, list):
            return {k for inner in value for k in keys(inner)}
        return set()

    assert keys(EXPECTED_22) - keys(EXPECTED_30) == set(NAMES_30)
    assert keys(EXPECTED_30) - keys(EXPECTED_22) == set(NAMES_30.values())
    assert NINJS_VERSIONS[0] == "2.2"


def test_a_place_gets_its_point_in_longitude_latitude_order() -> None:
    item = build_item(full_story(), entities(), "2.2", linker().points)
    longitude, latitude = item["places"][0]["geojson"]["coordinates"]
    assert 2 < longitude < 3 and 48 < latitude < 49  # Paris, France: east of Greenwich, far north


def test_no_points_without_positions_and_an_unlinked_place_gets_none() -> None:
    assert all("geojson" not in place for place in build_item(full_story(), entities())["places"])
    item = build_item(full_story(), entities(), "2.2", linker().points)
    assert {"name": "Lyonville"} in item["places"]


def test_an_ambiguous_name_keeps_the_linkers_choice_and_its_point() -> None:
    """The linker reads "Paris" as the French capital, not Paris, Texas; a place's point is the one of
    the URI the linker chose (here, as if it had chosen Texas), never one looked up again by name."""
    [paris] = [e for e in entities() if e.name == "Paris"]
    assert paris.uri == PARIS
    chosen = Entity("Paris", "LOC", 1, "body", 25, 0.5, "https://sws.geonames.org/4717560/", ["Paris"])
    item = build_item(full_story(), [chosen], "2.2", {"https://sws.geonames.org/4717560/": (-95.55551, 33.66094)})
    [place] = item["places"]
    assert place == {
        "name": "Paris",
        "uri": "https://sws.geonames.org/4717560/",
        "geojson": {"type": "Point", "coordinates": [-95.55551, 33.66094]},
    }


def test_an_agency_place_with_a_known_uri_gets_a_point_too() -> None:
    story = full_story([AgencyTag("place", name="Paris", uri=PARIS)])
    item = build_item(story, [], "3.0", linker().points)
    assert item["places"] == [
        {"name": "Paris", "uri": PARIS, "geoJSON": {"type": "Point", "coordinates": [2.3488, 48.85341]}}
    ]


def test_build_enriched_writes_the_version_asked_for() -> None:
    enriched = build_enriched(full_story(), [], "test", ninjs_version="3.0", points=linker().points)
    assert "versionCreated" in enriched.item and "versioncreated" not in enriched.item
    assert "versioncreated" in build_enriched(full_story(), [], "test").item
    with pytest.raises(ValueError, match=r"ninjs version '1\.6' is not one of 2\.2, 3\.0"):
        build_item(full_story(), [], "1.6")


@pytest.mark.parametrize("version", NINJS_VERSIONS)
def test_versioncreated_is_read_from_an_item_of_either_version(version: str) -> None:
    assert item_versioncreated(build_item(full_story(), [], version)) == "2026-11-20T09:05:00Z"


def test_every_place_with_a_sourced_position_is_on_earth() -> None:
    points = linker().points
    assert len(points) > 900
    for uri, (longitude, latitude) in points.items():
        assert -180 <= longitude <= 180 and -90 <= latitude <= 90, uri
