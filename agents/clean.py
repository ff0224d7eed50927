"""Stage 1: validate, clean and tag the language of raw stories (``stories.raw`` → ``stories.clean``).

``prepare`` is the pure step: raw bytes in, stories or dead letters out. The Faust agent
(``streams/agents.py``) and the offline ``wirestream enrich`` both call it.
"""

from __future__ import annotations

import time
from dataclasses import replace

from agents.cleaning import clean_text
from agents.cleaning.walls import not_an_article
from agents.failures.dead_letter import dead_letter
from agents.failures.errors import StageError
from agents.formats import parse_payload
from agents.language import detect_language
from agents.near_duplicates.signatures import SHINGLE_SIZE, text_signature
from schemas.records import CleanText, DeadLetter, LanguageTag, RawStory, Source, Stage, StoryInFlight

Outcome = StoryInFlight | DeadLetter


def clean_story(story: RawStory) -> CleanText:
    """Clean a story's headline and body.

    A body with no text left after cleaning, or a page that is not an article (a consent
    wall, paywall, bot check, error page or empty shell: ``agents.cleaning.walls``), is a
    :class:`StageError`; a metadata-only item
    (``body`` None: a picture, an event, a metadata update) passes with an empty body.
    """
    clean = clean_text(story.headline, story.body, story.body_type)
    if story.body is None:
        return clean
    if not clean.body.strip():
        raise StageError("clean", "EmptyAfterCleaning", f"story {story.uri!r} has no article text after cleaning")
    wall = not_an_article(clean)
    if wall is not None:
        raise StageError(
            "clean",
            "NotAnArticle",
            f"story {story.uri!r} is a {wall.reason.replace('_', ' ')}, not an article "
            f"({wall.article_words} words of article text left): {wall.wall_text!r}",
            reason=wall.reason,
        )
    return clean


def tag_language(story: RawStory, clean: CleanText) -> LanguageTag:
    """Detect the language of the clean text, keeping the declared one."""
    result = detect_language(clean.headline, clean.body, story.language)
    return LanguageTag(result.code, result.confidence, result.declared, result.mismatch)


def prepare(
    payload: bytes,
    content_type: str | None,
    source: Source,
    received_at: float,
    max_payload_bytes: int,
    shingle_size: int = SHINGLE_SIZE,
) -> list[Outcome]:
    """Parse, clean and tag one raw message: one outcome per story in it, or one dead letter.

    Never raises: every failure becomes a :class:`DeadLetter` carrying the original bytes.
    """
    stage: Stage = "validate"
    try:
        if len(payload) > max_payload_bytes:
            raise StageError(
                "validate",
                "PayloadTooLarge",
                f"message is {len(payload)} bytes, the limit is {max_payload_bytes} (WIRESTREAM_MAX_PAYLOAD_BYTES)",
            )
        started = time.perf_counter()
        stories = parse_payload(payload, content_type)
        parse_seconds = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - every failure is a dead letter
        return [dead_letter(error, stage, payload, source, time.time())]

    outcomes: list[Outcome] = []
    for index, story in enumerate(stories):
        try:
            stage = "clean"
            started = time.perf_counter()
            clean = clean_story(story)
            cleaned = time.perf_counter()
            stage = "language"
            language = tag_language(story, clean)
            done = time.perf_counter()
            stage = "dedup"  # the fingerprint and signature dedup compares, computed once here
            signature = text_signature(clean.body, language.code, shingle_size)
            signed = time.perf_counter()
        except Exception as error:  # noqa: BLE001
            letter = dead_letter(error, stage, payload, source, time.time())
            if len(stories) > 1:
                letter.error.message = f"item {index + 1} of {len(stories)}: {letter.error.message}"
            outcomes.append(letter)
            continue
        timings = {
            "validate": parse_seconds / len(stories),
            "clean": cleaned - started,
            "language": done - cleaned,
            "signature": signed - done,
        }
        # The raw body stays behind: no later stage reads it, and it was three quarters of the bytes
        # of every internal record (whole pages; docs/benchmarks.md). The clean text travels instead.
        carried = replace(story, body=None)
        outcomes.append(StoryInFlight(carried, source, index, received_at, clean, language, None, timings, signature))
    return outcomes
