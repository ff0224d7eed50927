"""Records for tests, built in one place: a test names only what it is about."""

from __future__ import annotations

from schemas.records import (
    CleanText,
    DedupTag,
    FileSource,
    KafkaSource,
    LanguageTag,
    RawStory,
    Source,
    StoryInFlight,
    TextSignature,
)


def story_in_flight(
    body: str,
    *,
    uri: str = "urn:test:story",
    headline: str = "H",
    language: str = "en",
    version: str | None = "1",
    versioncreated: str | None = None,
    source: Source | None = None,
    received_at: float = 1000.0,
    dedup: DedupTag | None = None,
    signature: TextSignature | None = None,
    raw: RawStory | None = None,
    declared: str | None = None,
) -> StoryInFlight:
    """A story as stage 1 hands it on: clean text equal to ``body``, tagged ``language`` (0.99).

    ``source`` defaults to offset 0 of ``stories.raw``; ``raw`` replaces the parsed story built
    from ``uri``, ``version``, ``versioncreated``, ``headline`` and ``body``.
    """
    return StoryInFlight(
        story=raw or RawStory(uri=uri, version=version, versioncreated=versioncreated, headline=headline, body=body),
        source=source or KafkaSource("stories.raw", 0, 0),
        item_index=0,
        received_at=received_at,
        clean=CleanText(headline, body),
        language=LanguageTag(language, 0.99, declared),
        dedup=dedup,
        signature=signature,
    )


def passed_dedup(body: str, *, language: str, headline: str, uri: str = "urn:test:story") -> StoryInFlight:
    """A story as dedup hands it to the entity stage: new, from a file."""
    return story_in_flight(
        body,
        uri=uri,
        headline=headline,
        language=language,
        source=FileSource("test", 1),
        received_at=0.0,
        dedup=DedupTag("f" * 32, "new"),
    )
