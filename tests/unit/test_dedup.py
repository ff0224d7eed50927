from __future__ import annotations

import random
from dataclasses import asdict
from typing import Any

from agents.dedup import NearDedup, compare_versions, deduplicate
from agents.near_duplicates.signatures import fingerprint, text_signature
from schemas.records import (
    DuplicateNotice,
    KafkaSource,
    RawStory,
    StoryInFlight,
    StoryRef,
    TextSignature,
)
from tests.factories import story_in_flight
from tests.unit.stories import FOOTBALL_STORY, HARBOUR_STORY

WEEK = 7 * 24 * 3600.0


def story(
    uri: str,
    body: str,
    version: str | None = None,
    versioncreated: str | None = None,
    offset: int = 0,
    at: float = 1000.0,
    language: str = "en",
    signed: bool = True,
    headline: str = "H",
) -> StoryInFlight:
    return story_in_flight(
        body,
        uri=uri,
        headline=headline,
        version=version,
        versioncreated=versioncreated,
        source=KafkaSource("stories.raw", 0, offset),
        received_at=at,
        language=language,
        signature=text_signature(body, language) if signed else None,
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


def test_resend_of_same_uri_and_version_and_text_is_exact_whatever_the_timestamps() -> None:
    # Rule table (docs/dedup.md), row 1: agencies re-transmit with fresh timestamps.
    state: dict[str, Any] = {}
    deduplicate(story("a", "Text one.", "3", "2026-01-01T10:00:00Z", offset=1), state, WEEK)
    later = deduplicate(story("a", "Text  one", "3", "2026-01-01T11:30:00Z", offset=2), state, WEEK)
    earlier = deduplicate(story("a", "Text one.", "3", "2026-01-01T09:00:00Z", offset=3), state, WEEK)
    for resend in (later, earlier):
        assert isinstance(resend, DuplicateNotice)
        assert (resend.kind, resend.duplicate_of.uri, resend.duplicate_of.version) == ("exact", "a", "3")


def test_same_uri_and_version_with_changed_text_is_an_update() -> None:
    # Row 2: a correction sent without a version bump.
    state: dict[str, Any] = {}
    deduplicate(story("a", "Text one.", "3", "2026-01-01T10:00:00Z", offset=1), state, WEEK)
    fixed = deduplicate(story("a", "Text one, corrected.", "3", "2026-01-01T10:05:00Z", offset=2), state, WEEK)
    assert isinstance(fixed, StoryInFlight) and fixed.dedup is not None
    assert fixed.dedup.status == "update" and fixed.dedup.supersedes is not None
    assert (fixed.dedup.supersedes.uri, fixed.dedup.supersedes.version) == ("a", "3")
    headline = deduplicate(
        story("a", "Text one, corrected.", "3", "2026-01-01T10:06:00Z", offset=3, headline="New"), state, WEEK
    )
    assert isinstance(headline, StoryInFlight) and headline.dedup and headline.dedup.status == "update"


def test_same_version_with_changed_text_and_an_older_timestamp_is_stale() -> None:
    # Row 3: the correction arrived first; the version it corrected comes in late.
    state: dict[str, Any] = {}
    deduplicate(story("a", "Text one, corrected.", "3", "2026-01-01T10:05:00Z", offset=1), state, WEEK)
    late = deduplicate(story("a", "Text one.", "3", "2026-01-01T10:00:00Z", offset=2), state, WEEK)
    assert isinstance(late, DuplicateNotice) and late.kind == "stale"


def test_newer_version_with_identical_clean_text_is_an_exact_duplicate_of_it() -> None:
    # Row 5: a version bump that changed nothing a reader sees.
    state: dict[str, Any] = {}
    deduplicate(story("a", "Same text.", "1", offset=1, headline="Storm"), state, WEEK)
    bump = deduplicate(story("a", "same text", "2", offset=2, headline="Storm"), state, WEEK)
    assert isinstance(bump, DuplicateNotice)
    assert (bump.kind, bump.duplicate_of.uri, bump.duplicate_of.version) == ("exact", "a", "1")
    retitled = deduplicate(story("a", "Same text.", "3", offset=3, headline="Storm hits"), state, WEEK)
    assert isinstance(retitled, StoryInFlight) and retitled.dedup and retitled.dedup.status == "update"


def test_a_resend_decision_replays_identically() -> None:
    state: dict[str, Any] = {}
    deduplicate(story("a", "Text one.", "3", "2026-01-01T10:00:00Z", offset=1), state, WEEK)
    first = deduplicate(story("a", "Text one.", "3", "2026-01-01T11:00:00Z", offset=2), state, WEEK)
    again = deduplicate(story("a", "Text one.", "3", "2026-01-01T11:00:00Z", offset=2), state, WEEK)
    assert isinstance(first, DuplicateNotice) and asdict(first) == asdict(again)


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


# --------------------------------------------------------------------------- near copies, journal, expiry

STORY = HARBOUR_STORY
EDITED = "HARBOUR TERMINAL TO CLOSE\n\n" + STORY.replace("eleven weeks", "twelve weeks") + "\n\n(Reporting by Jo)"
OTHER = FOOTBALL_STORY
CHINESE = "港务局周一表示，北部渡轮码头将从三月一日起关闭维修。前往岛屿的乘客应使用南部码头，那里每天增加了两班渡轮。"


def test_near_copy_is_a_near_duplicate_of_the_original() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    first = deduplicate(story("a", STORY, "1", offset=1), state, WEEK, near)
    other = deduplicate(story("b", OTHER, "1", offset=2), state, WEEK, near)
    copy = deduplicate(story("c", EDITED, offset=3), state, WEEK, near)
    assert isinstance(first, StoryInFlight) and isinstance(other, StoryInFlight)
    assert isinstance(copy, DuplicateNotice)
    assert (copy.kind, copy.duplicate_of.uri, copy.duplicate_of.version) == ("near", "a", "1")
    assert 0.5 <= copy.similarity < 1.0
    # a copy is not indexed: the next copy still points at the original
    again = deduplicate(story("d", EDITED + " More.", offset=4), state, WEEK, near)
    assert isinstance(again, DuplicateNotice) and again.duplicate_of.uri == "a"


def test_near_copies_meet_only_within_a_language() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    deduplicate(story("a", STORY, offset=1, language="en"), state, WEEK, near)
    other_language = deduplicate(story("b", EDITED, offset=2, language="de"), state, WEEK, near)
    assert isinstance(other_language, StoryInFlight)


def test_chinese_near_copy_uses_character_shingles() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    deduplicate(story("zh-1", CHINESE, offset=1, language="zh"), state, WEEK, near)
    copy = deduplicate(story("zh-2", CHINESE.replace("周一", "周二"), offset=2, language="zh"), state, WEEK, near)
    assert isinstance(copy, DuplicateNotice) and (copy.kind, copy.duplicate_of.uri) == ("near", "zh-1")


def test_threshold_is_configurable() -> None:
    strict = NearDedup(threshold=0.99)
    state: dict[str, Any] = {}
    deduplicate(story("a", STORY, offset=1), state, WEEK, strict)
    assert isinstance(deduplicate(story("c", EDITED, offset=2), state, WEEK, strict), StoryInFlight)


def test_signature_of_another_scheme_is_recomputed() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    deduplicate(story("a", STORY, offset=1), state, WEEK, near)
    wrong = story("c", EDITED, offset=2)
    wrong.signature = TextSignature("other-scheme", "0" * 32, "AAAA")
    copy = deduplicate(wrong, state, WEEK, near)
    assert isinstance(copy, DuplicateNotice) and copy.kind == "near"
    unsigned = deduplicate(story("d", EDITED, offset=3, signed=False), state, WEEK, near)
    assert isinstance(unsigned, DuplicateNotice) and unsigned.similarity == copy.similarity


def test_near_decision_replays_identically() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    deduplicate(story("a", STORY, "1", offset=1), state, WEEK, near)
    copy = deduplicate(story("c", EDITED, offset=2, at=1001.0), state, WEEK, near)
    replay = deduplicate(story("c", EDITED, offset=2, at=1001.0), state, WEEK, near)
    assert replay == copy


def test_a_message_cut_short_by_a_crash_is_not_a_copy_of_itself() -> None:
    """The crash lost the decision record (written last) but kept the other writes."""
    state: dict[str, Any] = {}
    near = NearDedup()
    first = deduplicate(story("a", STORY, "1", offset=1), state, WEEK, near)
    assert isinstance(first, StoryInFlight) and first.dedup is not None
    del state["m:stories.raw:0:1#0"]
    rebuilt = NearDedup.from_state(state)
    again = deduplicate(story("a", STORY, "1", offset=1), state, WEEK, rebuilt)
    assert isinstance(again, StoryInFlight) and again.dedup is not None and again.dedup.status == "new"


def _text(rng: random.Random, language: str, words: int = 60) -> str:
    if language == "zh":
        return "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(words * 2))
    return " ".join(f"{language}{rng.randrange(5000)}" for _ in range(words)) + "."


def _edit(rng: random.Random, text: str, language: str) -> str:
    if language == "zh":
        at = rng.randrange(len(text) - 4)
        return text[:at] + "据报道" + text[at + 2 :]
    words = text.split()
    for _ in range(3):
        words[rng.randrange(len(words))] = "edited"
    return " ".join(words)


def stream(seed: int, count: int = 160) -> list[StoryInFlight]:
    """New stories, near copies, exact copies, re-sends, updates and late versions in en, de and zh."""
    rng = random.Random(seed)
    out: list[StoryInFlight] = []
    originals: dict[str, list[StoryInFlight]] = {"en": [], "de": [], "zh": []}
    for i in range(count):
        language = rng.choice(sorted(originals))
        earlier = originals[language]
        roll = rng.random() if earlier else 0.0
        if roll < 0.4:
            item = story(f"urn:{language}:{i}", _text(rng, language), "2", offset=i, at=1000.0 + i, language=language)
            earlier.append(item)
        else:
            base = rng.choice(earlier)
            uri, version, body = f"urn:{language}:{i}", "1", base.clean.body
            if roll < 0.6:
                body = _edit(rng, body, language)
            elif roll < 0.75:
                pass  # an exact copy under another uri
            elif roll < 0.85:
                uri, version = base.story.uri, str(int(base.story.version or "1") + rng.randint(0, 2))
                body = _edit(rng, body, language)
            else:
                uri, version = base.story.uri, "1"  # a late older version
            item = story(uri, body, version, offset=i, at=1000.0 + i, language=language)
        out.append(item)
    return out


def decisions(outcomes: list[Any]) -> list[dict[str, Any]]:
    result = []
    for outcome in outcomes:
        if isinstance(outcome, DuplicateNotice):
            result.append(asdict(outcome))
        else:
            result.append({"uri": outcome.story.uri, "dedup": asdict(outcome.dedup)})
    return result


class RecordingState(dict[str, Any]):
    """A state that keeps the order of its writes, as the changelog does."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: list[tuple[str, Any]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append((key, value))
        super().__setitem__(key, value)


def cut_short(before: dict[str, Any], item: StoryInFlight, kept: int) -> dict[str, Any]:
    """The state a crash leaves when it kept only the first ``kept`` writes of ``item``'s decision."""
    trial = RecordingState(before)
    deduplicate(item, trial, WEEK, NearDedup.from_state(before))
    state = dict(before)
    state.update(trial.writes[:kept])
    return state


def test_an_update_cut_short_by_a_crash_is_still_an_update() -> None:
    # The crash loop of issue #16: the update's uri entry was on the changelog, its decision was not.
    state: dict[str, Any] = {}
    deduplicate(story("a", STORY, "1", offset=1), state, WEEK)
    update = story("a", STORY + " A correction.", "2", offset=2)
    writes = RecordingState(state)
    deduplicate(update, writes, WEEK, NearDedup.from_state(state))
    assert [key.split(":")[0] for key, _ in writes.writes] == ["n", "u", "f", "m"]
    for kept in range(len(writes.writes)):  # every cut that loses the decision
        crashed = cut_short(state, update, kept)
        again = deduplicate(update, crashed, WEEK, NearDedup.from_state(crashed))
        assert isinstance(again, StoryInFlight) and again.dedup is not None, kept
        assert (again.dedup.status, again.dedup.supersedes) == ("update", StoryRef("a", "1")), kept


def test_a_stream_read_again_after_a_crash_at_any_write_decides_as_the_uninterrupted_run() -> None:
    items = stream(5, count=60)
    expected = decisions(run_through(items, {}, NearDedup()))
    rng = random.Random(5)
    before: dict[str, Any] = {}
    near = NearDedup()
    for k, item in enumerate(items):
        trial = RecordingState(before)
        deduplicate(item, trial, WEEK, NearDedup.from_state(before))
        crashed = cut_short(before, item, rng.randrange(len(trial.writes)))
        again = run_through(items[k:], crashed, NearDedup.from_state(crashed))
        assert decisions(again) == expected[k:], k
        deduplicate(item, before, WEEK, near)


def run_through(items: list[StoryInFlight], state: dict[str, Any], near: NearDedup) -> list[Any]:
    return [deduplicate(item, state, WEEK, near) for item in items]


def test_one_worker_and_two_workers_decide_alike() -> None:
    """Two workers each own some languages (their partitions); one worker owns all."""
    items = stream(11)
    state: dict[str, Any] = {}
    near = NearDedup()
    alone = decisions([deduplicate(s, state, WEEK, near) for s in stream(11)])
    kinds = {d.get("kind") or d["dedup"]["status"] for d in alone}
    assert kinds == {"new", "update", "exact", "near", "stale"}
    workers = {"en": ({}, NearDedup()), "de": ({}, NearDedup()), "zh": ({}, NearDedup())}
    split = []
    for item in items:
        worker_state, worker_near = workers["en" if item.language.code == "en" else "de"]  # de and zh share one
        split.append(deduplicate(item, worker_state, WEEK, worker_near))
    assert decisions(split) == alone


def test_rebuilding_the_index_mid_stream_changes_no_decision() -> None:
    """A rebalance: the index is rebuilt from the table (the journal) and the stream goes on."""
    state: dict[str, Any] = {}
    near = NearDedup()
    reference = decisions([deduplicate(s, state, WEEK, near) for s in stream(5)])
    state = {}
    near = NearDedup()
    outcomes = []
    for i, item in enumerate(stream(5)):
        if i % 25 == 0:
            near = NearDedup.from_state(state)
        outcomes.append(deduplicate(item, state, WEEK, near))
    assert decisions(outcomes) == reference


def test_expired_entries_are_deleted_from_the_table_and_the_index() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    deduplicate(story("a", STORY, "1", offset=1, at=0.0), state, 100.0, near)
    deduplicate(story("b", STORY, offset=2, at=10.0), state, 100.0, near)  # exact copy: journal + decision
    assert len(near.languages["en"].index) == 1
    assert {k.split(":")[0] for k in state} == {"m", "u", "f", "n"}
    later = deduplicate(story("c", OTHER, offset=3, at=500.0), state, 100.0, near)
    assert isinstance(later, StoryInFlight)
    # only what story c wrote is left
    assert sorted(state) == sorted(["m:stories.raw:0:3#0", "u:en:c", f"f:en:{fingerprint(OTHER)}", "n:en:2"]), sorted(
        state
    )
    assert len(near.languages["en"].index) == 1
    copy = deduplicate(story("d", EDITED, offset=4, at=501.0), state, 100.0, near)
    assert isinstance(copy, StoryInFlight)  # its original expired


def test_expiry_keeps_a_uri_entry_a_newer_version_overwrote() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    deduplicate(story("a", STORY, "1", offset=1, at=0.0), state, 100.0, near)
    deduplicate(story("a", OTHER, "2", offset=2, at=90.0), state, 100.0, near)
    deduplicate(story("x", "Something else entirely here.", offset=3, at=150.0), state, 100.0, near)
    assert state["u:en:a"]["version"] == "2"  # v1's journal entry expired, v2's uri entry stays
    late = deduplicate(story("a", STORY, "1", offset=4, at=160.0), state, 100.0, near)
    assert isinstance(late, DuplicateNotice) and late.kind == "stale"


def test_state_stays_bounded_over_a_long_stream() -> None:
    state: dict[str, Any] = {}
    near = NearDedup()
    for i in range(600):
        body = f"Report {i}: " + " ".join(f"word{i}-{j}" for j in range(30))
        deduplicate(story(f"u{i}", body, offset=i, at=float(i)), state, 50.0, near)
    # 51 stories in the window, 4 keys each; expiry runs one call behind at most
    assert len(state) <= 4 * 52 and len(near.languages["en"].index) <= 52
