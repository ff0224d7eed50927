"""Unit tests for agents.language (the language-detection stage).

The fixtures are short news-style texts written for these tests.  The
detectors are loaded once per test process (the first test pays the load).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import language
from agents.language import SUPPORTED_LANGUAGES, LanguageResult, detect_language, warm_up

SAMPLES: dict[str, tuple[str, str]] = {
    "fr": (
        "Le gouvernement présente un plan d'urgence pour les agriculteurs",
        "Le Premier ministre a annoncé mardi une enveloppe de deux milliards d'euros destinée aux "
        "exploitations touchées par la sécheresse. Les syndicats agricoles jugent ces mesures "
        "insuffisantes et appellent à manifester la semaine prochaine devant les préfectures.",
    ),
    "en": (
        "Central bank raises interest rates for the third time this year",
        "The central bank raised its benchmark rate by a quarter of a percentage point on Thursday, "
        "saying inflation remained stubbornly high. Economists had widely expected the move, "
        "although several warned that the economy was already showing signs of slowing down.",
    ),
    "de": (
        "Bundesregierung einigt sich auf neuen Haushalt",
        "Nach wochenlangen Verhandlungen haben sich die Koalitionspartner in der Nacht auf einen "
        "Haushaltsentwurf für das kommende Jahr geeinigt. Der Finanzminister sprach von einem "
        "tragfähigen Kompromiss, die Opposition kritisierte dagegen die geplanten Kürzungen.",
    ),
    "ru": (
        "Правительство утвердило новый бюджет",
        "Правительство на заседании в среду одобрило проект федерального бюджета на следующий год. "
        "По словам министра финансов, расходы на социальные программы будут увеличены, а дефицит "
        "бюджета останется в пределах прогноза.",
    ),
    "ar": (
        "الحكومة تعلن عن خطة جديدة لدعم الاقتصاد",
        "أعلنت الحكومة يوم الثلاثاء عن حزمة من الإجراءات تهدف إلى دعم الشركات الصغيرة والمتوسطة "
        "وخلق فرص عمل جديدة للشباب، وقال وزير المالية إن الخطة ستنفذ على مدى ثلاث سنوات.",
    ),
    "zh": (
        "国家统计局公布第三季度经济数据",
        "国家统计局周一公布的数据显示，第三季度国内生产总值同比增长百分之四点六，"
        "消费和投资增速均有所回升，专家预计全年经济目标有望实现。",
    ),
    "ja": (
        "日銀が金融政策の維持を決定",
        "日本銀行は金曜日に開いた金融政策決定会合で、現在の大規模な金融緩和策を維持することを"
        "決めた。植田総裁は記者会見で、物価の動向を引き続き注意深く見ていく考えを示した。",
    ),
}

NORWEGIAN = (
    "Regjeringen legger fram forslag til statsbudsjett",
    "Finansministeren sier at budsjettet skal styrke økonomien i hele landet, og at det blir satt av "
    "mer penger til sykehus, skoler og samferdsel i årene som kommer.",
)
CATALAN = (
    "El Govern aprova el projecte de pressupostos",
    "El Consell Executiu ha aprovat aquest dimarts el projecte de llei de pressupostos de la "
    "Generalitat per a l'any vinent, que inclou noves inversions en sanitat, educació i habitatge.",
)
ENGLISH_CHROME = (
    "Skip to main content",
    "Home | World | Business | Markets | Sport | Sign in\n"
    "Subscribe Now For Full Access\n"
    "{body}\n"
    "Share this article\n"
    "Cookie Policy | Privacy Policy | Terms of Use | Contact Us",
)


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    warm_up()


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_each_sample(code: str) -> None:
    headline, body = SAMPLES[code]
    result = detect_language(headline, body)
    assert result.code == code
    assert result.confidence >= 0.8
    assert result.declared is None
    assert result.mismatch is False


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_headline_alone(code: str) -> None:
    headline, _ = SAMPLES[code]
    assert detect_language(headline, "").code == code


def test_norwegian_is_reported_as_no() -> None:
    result = detect_language(*NORWEGIAN, declared="nb-NO")
    assert result.code == "no"
    assert result.declared == "no"
    assert result.mismatch is False


def test_two_word_flash_in_a_close_language_is_told_by_its_words() -> None:
    # Slovak ending "-nu"; without the word frequencies this came out Czech
    assert detect_language("aktuálnu výstavu", "").code == "sk"
    assert detect_language("aktuální výstavu", "").code == "cs"


@pytest.mark.parametrize(
    ("headline", "body"),
    [
        ("", ""),
        ("   ", "\n\t "),
        ("12345", "67 890 !!! ... ---"),
        ("a", ""),
        ("OK", ""),
        ("Hi", ""),
        ("\ud800\udfff", "\x00\x00"),  # lone surrogates, NULs
    ],
)
def test_empty_or_too_short_is_und(headline: str, body: str) -> None:
    result = detect_language(headline, body)
    assert result == LanguageResult("und", 0.0, None, False)


def test_no_letters_is_und_even_with_declared() -> None:
    result = detect_language("2024-06-01 12:00", "+1 (555) 010-9999 • 42 % • €3.50", declared="en")
    assert result.code == "und"
    assert result.confidence == 0.0
    assert result.declared == "en"
    assert result.mismatch is False  # und never counts as a mismatch


def test_english_chrome_around_french_body_is_french_and_a_mismatch() -> None:
    headline, template = ENGLISH_CHROME
    result = detect_language(headline, template.format(body=SAMPLES["fr"][1]), declared="en")
    assert result.code == "fr"
    assert result.confidence >= 0.8
    assert result.declared == "en"
    assert result.mismatch is True


def test_declared_matching_is_not_a_mismatch() -> None:
    result = detect_language(*SAMPLES["de"], declared="de-AT")
    assert (result.code, result.declared, result.mismatch) == ("de", "de", False)


def test_half_english_half_french_is_und() -> None:
    english = "The minister said on Thursday that the new rules would come into force next year across the country."
    french = (
        "Le ministre a déclaré jeudi que les nouvelles règles entreraient en vigueur l'an prochain dans tout le pays."
    )
    assert detect_language("", f"{english}\n{french}").code == "und"
    assert detect_language("", f"{english} {french}").code == "und"


def test_unsupported_language_is_und_not_its_neighbour() -> None:
    assert "ca" not in SUPPORTED_LANGUAGES
    assert detect_language(*CATALAN).code == "und"


def test_traditional_chinese_is_zh() -> None:
    assert detect_language("台灣總統發表演說", "總統今天在台北發表演說，呼籲兩岸恢復對話並維持和平。").code == "zh"


def test_uppercase_headline() -> None:
    assert detect_language("EARTHQUAKE STRIKES SOUTHERN TURKEY, HUNDREDS FEARED DEAD", "").code == "en"


def test_long_body_is_sampled_not_scanned() -> None:
    headline, body = SAMPLES["fr"]
    huge = "\n\n".join([body] * 2000)  # ~600 KB
    sample = language.build_sample(headline, huge)
    assert len(sample) <= language.HEADLINE_SAMPLE_CHARS + language.BODY_SAMPLE_CHARS + 1
    assert detect_language(headline, huge).code == "fr"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("fr-FR", "fr"),
        ("FR", "fr"),
        (" en_US ", "en"),
        ("zh-Hans-CN", "zh"),
        ("zh-Hant", "zh"),
        ("nb-NO", "no"),
        ("nn", "no"),
        ("iw", "he"),
        ("in", "id"),
        ("fre", "fr"),
        ("deu", "de"),
        ("ca", "ca"),  # unsupported but valid: kept
        ("und", None),
        ("mul", None),
        ("", None),
        ("   ", None),
        ("12", None),
        ("english", None),
        ("x-klingon", None),
        (None, None),
    ],
)
def test_declared_normalisation(declared: str | None, expected: str | None) -> None:
    result = detect_language(*SAMPLES["en"], declared=declared)
    assert result.declared == expected
    assert result.mismatch is (expected is not None and expected != "en")


def test_detector_exceptions_do_not_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> dict[str, float]:
        raise RuntimeError("detector exploded")

    detectors = language._detectors()
    for name in ("fasttext_probs", "lingua_probs", "langidentify_probs", "word_probs"):
        monkeypatch.setattr(detectors, name, boom)
    result = detect_language(*SAMPLES["fr"], declared="fr")
    assert result == LanguageResult("und", 0.0, "fr", False)


def test_one_failing_detector_falls_back_to_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> dict[str, float]:
        raise RuntimeError("fastText exploded")

    monkeypatch.setattr(language._detectors(), "fasttext_probs", boom)
    assert detect_language(*SAMPLES["de"]).code == "de"


def test_word_frequencies_still_count_when_the_other_short_text_detectors_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> dict[str, float]:
        raise RuntimeError("detector exploded")

    for name in ("lingua_probs", "langidentify_probs"):
        monkeypatch.setattr(language._detectors(), name, boom)
    assert detect_language("aktuálnu výstavu", "").code == "sk"


def test_failing_detectors_are_counted_per_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> dict[str, float]:
        raise RuntimeError("detector exploded")

    before = dict(language.DETECTOR_FAILURES)
    for name in ("lingua_probs", "langidentify_probs"):
        monkeypatch.setattr(language._detectors(), name, boom)
    assert detect_language("aktuálnu výstavu", "").code == "sk"
    monkeypatch.setattr(language, "_classify", boom)
    detect_language(*SAMPLES["en"])
    counted = {name: count - before.get(name, 0) for name, count in language.DETECTOR_FAILURES.items()}
    assert {name: n for name, n in counted.items() if n} == {"lingua": 1, "langidentify": 1, "all": 1}


def test_internal_error_gives_und(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> tuple[str, float]:
        raise MemoryError("out of memory")

    monkeypatch.setattr(language, "_classify", boom)
    assert detect_language(*SAMPLES["en"], declared="en") == LanguageResult("und", 0.0, "en", False)


def test_result_is_frozen_and_rounded() -> None:
    result = detect_language(*SAMPLES["en"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.code = "fr"  # type: ignore[misc]
    assert result.confidence == round(result.confidence, 4)


def test_warm_up_is_idempotent() -> None:
    first = warm_up()
    assert first >= 0.0
    assert warm_up() == first


def test_supported_languages_cover_the_wire_languages() -> None:
    wire = {"en", "fr", "de", "es", "it", "pt", "nl", "ru", "ar", "zh", "ja", "ko", "tr", "pl", "uk", "sv", "da"}
    wire |= {"no", "fi", "cs", "hu", "ro", "el", "he", "fa", "hi", "id", "vi", "th", "bg", "hr", "sr", "sk"}
    assert wire <= SUPPORTED_LANGUAGES
    assert "und" not in SUPPORTED_LANGUAGES


def test_concurrent_calls_agree() -> None:
    expected = {code: detect_language(*texts).code for code, texts in SAMPLES.items()}
    errors: list[str] = []

    def worker() -> None:
        for _ in range(5):
            for code, texts in SAMPLES.items():
                got = detect_language(*texts).code
                if got != expected[code]:
                    errors.append(f"{code}: {got}")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headline=st.text(max_size=300), body=st.text(max_size=3000), declared=st.none() | st.text(max_size=12))
def test_never_raises_and_stays_in_range(headline: str, body: str, declared: str | None) -> None:
    result = detect_language(headline, body, declared)
    assert isinstance(result, LanguageResult)
    assert 0.0 <= result.confidence <= 1.0
    assert result.code == "und" or result.code in SUPPORTED_LANGUAGES
    if result.code == "und":
        assert result.confidence == 0.0
    assert result.mismatch == (result.declared is not None and result.code not in ("und", result.declared))


def test_detector_failures_are_exported_as_a_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.metrics import Metrics

    monkeypatch.setitem(language.DETECTOR_FAILURES, "lingua", 7)
    exposition = Metrics().exposition().decode()
    assert 'wirestream_language_detector_failures_total{detector="lingua"} 7.0' in exposition
