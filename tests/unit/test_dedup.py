from __future__ import annotations

from typing import Any

from agents.dedup import compare_versions, deduplicate, fingerprint
from schemas.records import CleanText, DuplicateNotice, KafkaSource, LanguageTag, RawStory, StoryInFlight

WEEK = 7 * 24 * 3600.0


def story(
    uri: str,
    body: str,
    version: str | None = None,
    versioncreated: str | None = None,
    offset: int = 0,
    at: float = 1000.0,
) -> StoryInFlight:
    return StoryInFlight(
        story=RawStory(uri=uri, version=version, versioncreated=versioncreated, headline="H", body=body),
        source=KafkaSource("stories.raw", 0, offset),
        item_index=0,
        received_at=at,
        clean=CleanText(headline="H", body=body),
        language=LanguageTag("en", 0.99),
    )


def test_fingerprint_ignores_case_spacing_and_punctuation() -> None:
    assert fingerprint("The storm hit, on Monday.") == fingerprint("the  storm hit on monday")
    assert fingerprint("The storm hit on Monday.") != fingerprint("The storm hit on Tuesday.")
    assert fingerprint(" … ") is None


def test_metadata_only_items_are_never_copies_of_each_other() -> None:
    state: dict[str, Any] = {}
    first = deduplicate(story("pic-1", "", offset=1), state, WEEK)
    second = deduplicate(story("pic-2", "", offset=2), state, WEEK)
    resend = deduplicate(story("pic-1", "", offset=3), state, WEEK)
    assert isinstance(first, StoryInFlight) and isinstance(second, StoryInFlight)
    assert second.dedup is not None and second.dedup.status == "new"
    assert isinstance(resend, DuplicateNotice) and resend.duplicate_of.uri == "pic-1"


def test_new_then_exact_copy_under_another_uri() -> None:
    state: dict[str, Any] = {}
    first = deduplicate(story("a", "Same text here.", "1", offset=1), state, WEEK)
    copy = deduplicate(story("b", "same TEXT here", offset=2), state, WEEK)
    assert isinstance(first, StoryInFlight) and first.dedup and first.dedup.status == "new"
    assert isinstance(copy, DuplicateNotice)
    assert (copy.kind, copy.duplicate_of.uri, copy.duplicate_of.version, copy.similarity) == ("exact", "a", "1", 1.0)


def test_resend_of_same_uri_and_version_is_exact() -> None:
    state: dict[str, Any] = {}
    deduplicate(story("a", "Text one.", "3", offset=1), state, WEEK)
    resend = deduplicate(story("a", "Text one, slightly edited.", "3", offset=2), state, WEEK)
    assert isinstance(resend, DuplicateNotice) and resend.kind == "exact"


def test_newer_version_is_an_update_and_older_is_stale() -> None:
    state: dict[str, Any] = {}
    deduplicate(story("a", "First version.", "2", offset=1), state, WEEK)
    update = deduplicate(story("a", "Second version with more.", "10", offset=2), state, WEEK)
    late = deduplicate(story("a", "Old first draft.", "1", offset=3), state, WEEK)
    assert isinstance(update, StoryInFlight) and update.dedup is not None
    assert update.dedup.status == "update"
    assert update.dedup.supersedes is not None and update.dedup.supersedes.version == "2"
    assert isinstance(late, DuplicateNotice)
    assert (late.kind, late.duplicate_of.version) == ("stale", "10")


def test_versioncreated_decides_when_versions_are_absent() -> None:
    state: dict[str, Any] = {}
    deduplicate(story("a", "Morning text.", versioncreated="2026-01-01T08:00:00Z", offset=1), state, WEEK)
    later = deduplicate(story("a", "Evening text.", versioncreated="2026-01-01T20:00:00+00:00", offset=2), state, WEEK)
    assert isinstance(later, StoryInFlight) and later.dedup and later.dedup.status == "update"


def test_replay_is_not_a_copy_and_gets_the_same_decision() -> None:
    state: dict[str, Any] = {}
    first = deduplicate(story("a", "Original text.", "1", offset=5), state, WEEK)
    dup = deduplicate(story("b", "Original text.", offset=6), state, WEEK)
    replay_first = deduplicate(story("a", "Original text.", "1", offset=5), state, WEEK)
    replay_dup = deduplicate(story("b", "Original text.", offset=6), state, WEEK)
    assert isinstance(first, StoryInFlight) and isinstance(replay_first, StoryInFlight)
    assert replay_first.dedup == first.dedup
    assert replay_dup == dup


def test_entries_expire_after_the_window() -> None:
    state: dict[str, Any] = {}
    deduplicate(story("a", "Text.", offset=1, at=0.0), state, 100.0)
    again = deduplicate(story("b", "Text.", offset=2, at=500.0), state, 100.0)
    assert isinstance(again, StoryInFlight) and again.dedup and again.dedup.status == "new"


def test_compare_versions() -> None:
    assert compare_versions(RawStory("u", version="9"), RawStory("u", version="10")) == -1
    assert compare_versions(RawStory("u", version="b"), RawStory("u", version="a")) == 1
    assert compare_versions(RawStory("u", version="1"), RawStory("u", version="1")) == 0
