"""agents.languages.word_frequencies: the word-frequency opinion on short text (phrases written for these tests)."""

from __future__ import annotations

import pytest

from agents.language import SUPPORTED_LANGUAGES
from agents.languages.word_frequencies import WordFrequencies


@pytest.fixture(scope="module")
def words() -> WordFrequencies:
    return WordFrequencies(SUPPORTED_LANGUAGES)


def _top(probabilities: dict[str, float]) -> str:
    return max(probabilities, key=lambda code: probabilities[code])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("regeringen vedtog", "da"),  # Danish past tense; Norwegian writes "vedtok"
        ("regjeringen vedtok", "no"),
        ("aktuálnu výstavu", "sk"),  # Slovak endings; Czech would be "aktuální výstavu"
        ("aktuální výstavu", "cs"),
        ("ministério anunciou", "pt"),
        ("ministerio anunció", "es"),
        ("Правительство заявило", "ru"),
    ],
)
def test_close_languages_are_told_apart_by_their_words(words: WordFrequencies, text: str, expected: str) -> None:
    assert _top(words.probabilities(text, SUPPORTED_LANGUAGES)) == expected


def test_a_distribution_over_the_languages_asked(words: WordFrequencies) -> None:
    probabilities = words.probabilities("the government said", ["en", "de", "th"])
    assert set(probabilities) == {"en", "de", "th"}
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert probabilities["en"] > 0.99


def test_unknown_words_say_nothing_and_no_words_give_no_opinion(words: WordFrequencies) -> None:
    unknown = words.probabilities("xqzzv wprrk", ["en", "de", "fr"])
    assert unknown == pytest.approx({"en": 1 / 3, "de": 1 / 3, "fr": 1 / 3})
    assert words.probabilities("12 345 !!", ["en", "de"]) == {}


def test_languages_sharing_a_list_and_languages_without_one(words: WordFrequencies) -> None:
    assert {"hr", "sr", "no", "en"} <= words.languages  # sr and hr read the Serbo-Croatian list, no Bokmål
    assert "th" not in words.languages  # wordfreq has no Thai list


def test_serbian_cyrillic_is_read_in_the_script_of_its_list(words: WordFrequencies) -> None:
    # wordfreq keeps Serbo-Croatian in Latin script: Cyrillic Serbian must be transliterated to be found
    # (it used to score as all-unknown, so Russian or Bulgarian won on shared Slavic roots)
    cyrillic = words.probabilities("председник владе", ["sr", "hr", "ru", "bg", "uk"])
    assert _top(cyrillic) == "sr"
    assert cyrillic["hr"] < 0.01  # Croatian is not written in Cyrillic: not transliterated for it
    latin = words.probabilities("predsjednik vlade", ["sr", "hr", "ru"])
    assert latin["sr"] == pytest.approx(latin["hr"])  # one list, one script: no opinion between them
