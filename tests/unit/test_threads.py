"""Story threads and translated copies (``agents/threads.py``): evidence, decisions, replay, expiry."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from agents.failures.errors import StageError
from agents.formats import parse_payload
from agents.threads import (
    KIND_ENTITY,
    KIND_NAME,
    KIND_NUMBER,
    KIND_WORD,
    Decision,
    ThreadIndex,
    ThreadSettings,
    assign,
    evidence,
    kind_of,
    name_skeleton,
    normal_number,
    numbers_agree,
    sentence_count,
    sentences_agree,
    story_evidence,
    thread_id,
    thread_summary,
    translation_evidence,
)
from schemas.records import DedupTag, EnrichedStory, Enrichment, Entity, FileSource, LanguageTag
from tests.shared_folder import shared_dir

ENGLISH = (
    "Flooding in Valparaiso",
    "Heavy rain flooded 1,250 homes in Valparaiso on Tuesday, Chile's interior minister Carolina Toha said, "
    "and 37 people were taken to hospital. Rainfall reached 182.5 millimetres in 24 hours, the most since 1987, "
    "according to the Chilean weather service. President Gabriel Boric will visit the region on Wednesday.",
)
FRENCH = (
    "Inondations à Valparaiso",
    "De fortes pluies ont inondé 1.250 logements à Valparaiso mardi, a déclaré la ministre chilienne de "
    "l'Intérieur Carolina Toha, et 37 personnes ont été hospitalisées. Les précipitations ont atteint 182,5 "
    "millimètres en 24 heures, un record depuis 1987, selon le service météorologique chilien. Le président "
    "Gabriel Boric se rendra dans la région mercredi.",
)
OTHER = (
    "Rate decision in Frankfurt",
    "The European Central Bank kept its deposit rate at 3.75 percent on Thursday, President Christine Lagarde "
    "told reporters in Frankfurt, adding that inflation of 2.9 percent in the euro area was still too high.",
)
SPANISH_FOLLOW_UP = (
    "Valparaíso cuenta los daños",
    "Dos días después de las lluvias que inundaron 1.250 viviendas en Valparaíso, la alcaldesa Camila Nieto "
    "pidió 4.000 millones de pesos al Gobierno. El presidente Gabriel Boric recorrió Viña del Mar y Quilpué, "
    "donde 12 familias siguen en albergues, y la Onemi mantiene la alerta roja en 3 comunas hasta el viernes.",
)

#: Texts without a number: only their names and their structure can tell a translation.
UNNUMBERED_ENGLISH = (
    "Drought empties Lake Poopo",
    "Fishermen in Bolivia say that Lake Poopo has dried up, and the governor of Oruro, Victor Hugo Vasquez, "
    "asked La Paz for help. Scientists at the University of San Andres blame mining and El Nino. The families "
    "of the Uru people have left for Peru and Chile.",
)
UNNUMBERED_FRENCH = (
    "La sécheresse vide le lac Poopo",
    "Des pêcheurs en Bolivie affirment que le lac Poopo s'est asséché, et le gouverneur d'Oruro, Victor Hugo "
    "Vasquez, a demandé de l'aide à La Paz. Les scientifiques de l'Université de San Andres accusent les mines "
    "et El Nino. Les familles du peuple Uru sont parties au Pérou et au Chili.",
)
UNNUMBERED_FRENCH_REPORT = (
    "Le lac Poopo a disparu",
    "Le lac Poopo, en Bolivie, a disparu. Le gouverneur d'Oruro, Victor Hugo Vasquez, parle d'une catastrophe. "
    "La Paz promet de l'aide. Les mines sont en cause, selon l'Université de San Andres. El Nino aussi. Les Uru "
    "partent au Pérou et au Chili. Ils ne reviendront pas.",
)


def story(
    uri: str,
    text: tuple[str, str],
    language: str,
    at: float,
    line: int,
    version: str | None = "1",
    entities: list[Entity] | None = None,
) -> EnrichedStory:
    headline, body = text
    item: dict[str, Any] = {"uri": uri, "headlines": [{"role": "main", "value": headline}], "bodies": []}
    item["bodies"].append({"role": "main", "contenttype": "text/plain", "value": body, "charcount": len(body)})
    if version is not None:
        item["version"] = version
    enrichment = Enrichment(
        language=LanguageTag(language, 1.0),
        entities=[],
        merged_entities=entities or [],
        entities_model=None,
        entities_tagged_chars=None,
        dedup=DedupTag("", "new"),
        cleaning={},
        source=FileSource("wire.jsonl", line),
        received_at=at,
        timings={},
        pipeline_version="test",
        idempotency_key=f"{FileSource('wire.jsonl', line).key}#0",
    )
    return EnrichedStory(item=item, enrichment=enrichment)


@pytest.mark.parametrize(
    ("written", "normal"),
    [("1,250", "1250"), ("1.250", "1250"), ("182.5", "182.5"), ("182,5", "182.5"), ("0037", "37"), ("7", None)],
)
def test_numbers_normalise_across_conventions(written: str, normal: str | None) -> None:
    assert normal_number(written) == normal


def test_a_name_has_one_skeleton_across_scripts_and_spellings() -> None:
    assert name_skeleton("Putin") == name_skeleton("Путин") == name_skeleton("Poutine") == "ptn"
    assert name_skeleton("Tohá") == name_skeleton("Toha")
    assert name_skeleton("Li") is None


def test_evidence_shares_numbers_and_names_across_languages_but_not_words() -> None:
    english = set(evidence(" ".join(ENGLISH), "en"))
    french = set(evidence(" ".join(FRENCH), "fr"))
    shared = english & french
    assert {kind_of(key) for key in shared} == {KIND_NUMBER, KIND_NAME}
    assert sum(kind_of(key) == KIND_NUMBER for key in shared) >= 4  # 1250, 37, 182.5, 24, 1987
    assert any(kind_of(key) == KIND_WORD for key in english)


def test_sentence_initial_and_lower_case_words_are_not_names() -> None:
    keys = evidence("Heavy rain fell. Heavy clouds stayed over Valparaiso and heavy winds blew.", "en")
    names = {key for key in keys if kind_of(key) == KIND_NAME}
    assert names == {key for key in evidence("over Valparaiso", "en") if kind_of(key) == KIND_NAME}


def test_a_translation_joins_the_thread_of_its_original_and_is_flagged() -> None:
    state: dict[str, Any] = {}
    index = ThreadIndex()
    settings = ThreadSettings()
    first = assign(story("urn:en:1", ENGLISH, "en", 1000.0, 1), state, settings, index)
    other = assign(story("urn:en:2", OTHER, "en", 1001.0, 2), state, settings, index)
    french = assign(story("urn:fr:1", FRENCH, "fr", 1002.0, 3), state, settings, index)

    assert first.thread.id == thread_id("urn:en:1", "1")
    assert first.thread.similarity == 0.0 and first.thread.size == 1
    assert other.thread.id != first.thread.id
    assert french.thread.id == first.thread.id
    assert french.thread.size == 2 and french.thread.languages == ["en", "fr"]
    assert french.thread.first.uri == "urn:en:1"
    assert french.translation_of is not None and french.translation_of.uri == "urn:en:1"
    assert french.translation_of.similarity >= settings.translation
    assert first.translation_of is None and other.translation_of is None


def decided(*stories: EnrichedStory) -> list[Decision]:
    """The decisions for ``stories`` assigned in order into an empty state, at the default settings."""
    state: dict[str, Any] = {}
    index = ThreadIndex()
    return [assign(one, state, ThreadSettings(), index) for one in stories]


def test_a_follow_up_joins_the_thread_without_being_a_translation() -> None:
    first, _, follow = decided(
        story("urn:en:1", ENGLISH, "en", 1000.0, 1),
        story("urn:en:2", OTHER, "en", 1001.0, 2),
        story("urn:es:1", SPANISH_FOLLOW_UP, "es", 1002.0, 3),
    )
    assert follow.thread.id == first.thread.id
    assert follow.translation_of is None


def test_a_new_version_stays_in_its_story_thread() -> None:
    state: dict[str, Any] = {}
    index = ThreadIndex()
    settings = ThreadSettings()
    first = assign(story("urn:en:1", ENGLISH, "en", 1000.0, 1), state, settings, index)
    update = assign(story("urn:en:1", OTHER, "en", 1005.0, 2, version="2"), state, settings, index)
    assert update.thread.id == first.thread.id
    assert update.thread.similarity == 1.0 and update.thread.size == 2
    summary = thread_summary(state, first.thread.id)
    assert summary is not None
    assert [m["version"] for m in summary["members"]] == ["1", "2"]
    assert summary["first_seen"] == 1000.0 and summary["last_seen"] == 1005.0


def test_a_replayed_message_gets_its_decision_back_and_changes_nothing() -> None:
    state: dict[str, Any] = {}
    index = ThreadIndex()
    settings = ThreadSettings()
    assign(story("urn:en:1", ENGLISH, "en", 1000.0, 1), state, settings, index)
    french = assign(story("urn:fr:1", FRENCH, "fr", 1002.0, 2), state, settings, index)
    before, size = copy.deepcopy(state), len(index)
    again = assign(story("urn:fr:1", FRENCH, "fr", 1002.0, 2), state, settings, index)
    assert again == french
    assert state == before and len(index) == size


def test_an_index_rebuilt_from_the_state_decides_as_the_live_one() -> None:
    settings = ThreadSettings()
    live_state: dict[str, Any] = {}
    live = ThreadIndex()
    for line, (uri, text, language) in enumerate([("urn:en:1", ENGLISH, "en"), ("urn:en:2", OTHER, "en")], start=1):
        assign(story(uri, text, language, 1000.0 + line, line), live_state, settings, live)
    rebuilt = ThreadIndex()
    rebuilt.rebuild(copy.deepcopy(live_state).items())
    rebuilt_state = copy.deepcopy(live_state)
    new = story("urn:fr:1", FRENCH, "fr", 1010.0, 3)
    assert assign(new, live_state, settings, live) == assign(new, rebuilt_state, settings, rebuilt)
    assert live_state == rebuilt_state


def test_stories_out_of_the_window_are_forgotten_with_their_state() -> None:
    settings = ThreadSettings(window_seconds=3600.0)
    state: dict[str, Any] = {}
    index = ThreadIndex()
    first = assign(story("urn:en:1", ENGLISH, "en", 1000.0, 1), state, settings, index)
    later = assign(story("urn:fr:1", FRENCH, "fr", 1000.0 + 3601.0, 2), state, settings, index)
    assert later.thread.id != first.thread.id and later.translation_of is None
    assert not any(key.endswith("urn:en:1") or key == "t:" + first.thread.id for key in state)
    assert not any(key.startswith("m:wire.jsonl:1#") for key in state) and len(index) == 1


def test_linked_people_and_organisations_count_as_evidence_places_by_name_only() -> None:
    def linked(entity_type: str) -> set[int]:
        entity = Entity("X", entity_type, 1, "body", 0, 1.0, "http://www.wikidata.org/entity/Q7747", ["x"])  # type: ignore[arg-type]
        return set(story_evidence(story("urn:en:1", ("", "no names here"), "en", 0.0, 1, entities=[entity])))

    unlinked = set(story_evidence(story("urn:en:1", ("", "no names here"), "en", 0.0, 1)))
    assert {kind_of(key) for key in linked("PER") - unlinked} == {KIND_ENTITY}
    assert linked("ORG") == linked("PER")
    assert linked("LOC") == unlinked


def test_a_translation_states_the_same_numbers() -> None:
    english = evidence(" ".join(ENGLISH), "en")
    assert numbers_agree(evidence(" ".join(FRENCH), "fr"), english)
    assert not numbers_agree(evidence(" ".join(SPANISH_FOLLOW_UP), "es"), english)
    assert not numbers_agree(evidence("Sans chiffres", "fr"), evidence("Without numbers", "en"))


def test_sentences_are_counted_by_their_ends_not_by_line_breaks_or_decimal_points() -> None:
    assert sentence_count("Rates rose 3.5 percent. Then they fell!\nWhy now? Nobody said") == 4
    assert sentence_count("Headline without a full stop\n\nBody.") == 1
    assert sentence_count("下雨了。风很大！") == 2
    assert sentence_count("") == 0


def test_sentence_counts_agree_within_one_or_fifteen_percent() -> None:
    assert sentences_agree(3, 4) and sentences_agree(20, 23)
    assert not sentences_agree(3, 5) and not sentences_agree(10, 12)


def test_translation_evidence_needs_less_similarity_the_more_structure_is_shared() -> None:
    settings = ThreadSettings()
    english = evidence(" ".join(ENGLISH), "en")
    french = evidence(" ".join(FRENCH), "fr")
    one_number = evidence("Rain fell in Valparaiso in 1987.", "en")
    unnumbered = evidence(" ".join(UNNUMBERED_FRENCH), "fr")
    low = (settings.structured_translation + settings.translation) / 2
    # Numbers that agree: the translation threshold, or less with two shared numbers and the sentences kept.
    assert translation_evidence(settings.translation, french, english, False, settings)
    assert not translation_evidence(low, french, english, False, settings)
    assert translation_evidence(low, french, english, True, settings)
    assert not translation_evidence(settings.structured_translation - 0.01, french, english, True, settings)
    assert not translation_evidence(low, one_number, evidence("In 1987, rain.", "fr"), True, settings)
    # Numbers that disagree rule it out; texts without any need their sentences to agree, and more similarity.
    assert not translation_evidence(0.9, evidence(" ".join(SPANISH_FOLLOW_UP), "es"), english, True, settings)
    assert not translation_evidence(0.9, unnumbered, english, True, settings)
    no_numbers = evidence(" ".join(UNNUMBERED_ENGLISH), "en")
    assert translation_evidence(settings.unnumbered_translation, unnumbered, no_numbers, True, settings)
    assert not translation_evidence(0.9, unnumbered, no_numbers, False, settings)
    assert not translation_evidence(settings.unnumbered_translation - 0.01, unnumbered, no_numbers, True, settings)


def test_a_translation_without_numbers_is_found_by_its_names_and_sentences() -> None:
    first, _, report, french = decided(
        story("urn:en:1", UNNUMBERED_ENGLISH, "en", 1000.0, 1),
        story("urn:en:2", OTHER, "en", 1001.0, 2),
        story("urn:fr:2", UNNUMBERED_FRENCH_REPORT, "fr", 1002.0, 3),
        story("urn:fr:1", UNNUMBERED_FRENCH, "fr", 1003.0, 4),
    )
    assert french.translation_of is not None and french.translation_of.uri == "urn:en:1"
    assert french.thread.id == first.thread.id
    # The same names in other sentences: the same event, not a translation.
    assert report.thread.id == first.thread.id and report.translation_of is None


def test_across_languages_one_shared_key_is_chance_two_make_a_thread() -> None:
    english = story(
        "urn:en:1", ("", "The storm hit Valparaiso and Quilpue with 182 millimetres of rain."), "en", 1.0, 1
    )
    one = story("urn:fr:1", ("", "la tempête a frappé Valparaiso."), "fr", 2.0, 2)
    two = story("urn:fr:2", ("", "la tempête a frappé Valparaiso et Quilpue."), "fr", 2.0, 2)
    first, unrelated = decided(english, one)
    assert unrelated.thread.id != first.thread.id
    first, joined = decided(english, two)
    assert joined.thread.id == first.thread.id and joined.thread.similarity > ThreadSettings().cross_language


def test_a_translation_shares_more_than_one_key_with_its_original() -> None:
    # Without numbers, one sentence each and one name each: alike, but one shared key proves nothing.
    english = story("urn:en:1", ("", "Rain fell on Valparaiso all day."), "en", 1.0, 1)
    french = story("urn:fr:1", ("", "il a plu sur Valparaiso toute la journée."), "fr", 2.0, 2)
    first, second = decided(english, french)
    assert second.translation_of is None and second.thread.id != first.thread.id


def test_expired_stories_leave_the_index_and_decisions_stay_right_after_compaction() -> None:
    settings = ThreadSettings(window_seconds=10.0)
    state: dict[str, Any] = {}
    index = ThreadIndex()
    for number in range(3000):
        filler = (f"Item {number}", f"Report {number + 10_000} from Station{number} about weather.")
        assign(story(f"urn:filler:{number}", filler, "en", float(number), number + 1), state, settings, index)
    assert len(index) <= 11
    assert len(index.thread_ids) < 1100 and len(index.postings) < 1100 * 8
    assert sum(key.startswith("j:") for key in state) == len(index)
    first = assign(story("urn:en:1", ENGLISH, "en", 3000.0, 5000), state, settings, index)
    french = assign(story("urn:fr:1", FRENCH, "fr", 3001.0, 5001), state, settings, index)
    assert french.thread.id == first.thread.id and french.translation_of is not None
    rebuilt = ThreadIndex()
    rebuilt.rebuild(state.items())
    assert len(rebuilt) == len(index) and rebuilt.thread_of(index.next_seq - 1) == first.thread.id


REPO = Path(__file__).resolve().parents[2]
SEED = shared_dir() / "seed"


def test_the_scraped_seed_joins_the_thread_of_the_english_sample_story() -> None:
    """The seed is a French machine translation of an English wire story about the event the sample
    ``urn:wirestream:sample:ukraine-call`` reports (written for the project, not the seed's source)."""
    seeds = sorted(SEED.glob("*.txt"))
    if not seeds:
        if os.environ.get("CI"):
            raise AssertionError(f"no seed story in {SEED}")
        pytest.skip(f"no seed story in {SEED}")
    state: dict[str, Any] = {}
    index = ThreadIndex()
    settings = ThreadSettings()
    threads: dict[str, str] = {}
    for line, payload in enumerate((REPO / "samples" / "stories.jsonl").read_bytes().splitlines(), start=1):
        try:
            raws = parse_payload(payload)
        except StageError:
            continue
        for raw in raws:
            text = (raw.headline or "", raw.body or "")
            decision = assign(
                story(raw.uri, text, raw.language or "en", float(line), line, raw.version), state, settings, index
            )
            threads[raw.uri] = decision.thread.id
    headline, _, body = seeds[0].read_text(encoding="utf-8").partition("\n")
    seed = assign(story("urn:seed", (headline, body), "fr", 100.0, 100), state, settings, index)
    assert seed.thread.id == threads["urn:wirestream:sample:ukraine-call"]
    assert seed.thread.languages == ["en", "fr"]
    assert [uri for uri, thread in threads.items() if thread == seed.thread.id] == [
        "urn:wirestream:sample:ukraine-call"
    ]


def _journal(state: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(key[2:]): entry for key, entry in state.items() if key.startswith("j:")}


def arriving(*stories: tuple[str, tuple[str, str], str]) -> list[EnrichedStory]:
    """``(uri, text, language)`` as stories arriving in that order, a second apart from 1000.0, on
    lines 1, 2, … of one file."""
    return [story(uri, text, language, 1000.0 + n, n + 1) for n, (uri, text, language) in enumerate(stories)]


def _in_order() -> list[EnrichedStory]:
    """Stories of one event in three languages (a translation among them) and of another event."""
    return arriving(
        ("urn:en:1", UNNUMBERED_ENGLISH, "en"),
        ("urn:en:2", OTHER, "en"),
        ("urn:fr:2", UNNUMBERED_FRENCH_REPORT, "fr"),
        ("urn:fr:1", UNNUMBERED_FRENCH, "fr"),
        ("urn:en:3", ENGLISH, "en"),
        ("urn:es:1", SPANISH_FOLLOW_UP, "es"),
        ("urn:fr:3", FRENCH, "fr"),
    )


def test_a_similarity_is_a_cosine_never_above_one() -> None:
    # The French copy of a text without numbers, early in the window: with the query's idf on both
    # sides of the dot product and the original's idf of its arrival in its norm, it scored 1.244.
    decisions = decided(*_in_order())
    french = decisions[3]
    assert french.translation_of is not None and french.translation_of.uri == "urn:en:1"
    assert 0.9 < french.translation_of.similarity <= 1.0
    for decision in decisions:
        assert 0.0 <= decision.thread.similarity <= 1.0
        assert decision.translation_of is None or decision.translation_of.similarity <= 1.0


def test_a_similarity_is_the_same_whichever_of_two_stories_asks() -> None:
    """Each side weighs a shared key with its own stored weight, so a vs b is b vs a, exactly."""
    state: dict[str, Any] = {}
    index = ThreadIndex()
    for one in _in_order():
        assign(one, state, ThreadSettings(), index)
    journal = _journal(state)

    def similarities(seq: int) -> dict[int, tuple[float, float]]:
        entry = journal[seq]
        found = index.candidates(entry["k"], entry["w"], 0.0)
        return {int(s): (float(a), float(b)) for s, a, b in zip(found.seqs, found.same, found.cross, strict=True)}

    of = {seq: similarities(seq) for seq in journal}
    pairs = [(a, b) for a in journal for b in of[a] if a < b]
    assert len(pairs) >= 6
    for a, b in pairs:
        assert of[a][b] == of[b][a]
        assert max(of[a][b]) <= 1.0
    for seq in journal:  # a story against itself
        assert of[seq][seq][0] == pytest.approx(1.0)


def _first_four_assigned() -> tuple[ThreadSettings, list[EnrichedStory], dict[str, Any], ThreadIndex]:
    """The settings, the stories in order, and the state and index after the first four of them."""
    settings = ThreadSettings()
    stories = _in_order()
    state: dict[str, Any] = {}
    index = ThreadIndex()
    for one in stories[:4]:
        assign(one, state, settings, index)
    return settings, stories, state, index


def test_an_index_rebuilt_from_the_state_holds_the_live_weights_and_decides_the_same() -> None:
    settings, stories, live_state, live = _first_four_assigned()
    # The table's changelog holds the state as JSON: the weights come back as the live index used them.
    rebuilt_state = json.loads(json.dumps(live_state))
    rebuilt = ThreadIndex()
    rebuilt.rebuild(rebuilt_state.items())
    assert rebuilt.postings == live.postings and rebuilt.norms == live.norms
    for one in stories[4:]:
        assert assign(one, live_state, settings, live) == assign(one, rebuilt_state, settings, rebuilt)
    assert live_state == rebuilt_state and rebuilt.postings == live.postings


def test_journal_entries_without_weights_load_with_the_idf_of_the_entries_before_them() -> None:
    """An entry written without ``w`` gets the idf its keys have among the entries before it: with
    nothing expired in between, the weights it had when it arrived."""
    settings, stories, live_state, live = _first_four_assigned()
    old_state = copy.deepcopy(live_state)
    for entry in _journal(old_state).values():
        del entry["w"]
    old = ThreadIndex()
    old.rebuild(old_state.items())
    assert len(old) == len(live) and old.postings == live.postings and old.norms == live.norms
    for one in stories[4:]:
        assert assign(one, old_state, settings, old) == assign(one, live_state, settings, live)
