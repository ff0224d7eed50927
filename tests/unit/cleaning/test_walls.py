"""Pages that are not articles: walls, bot checks, error pages and empty shells (texts written here)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agents.clean import prepare
from agents.cleaning import clean_text
from agents.cleaning.lexicon import LexiconError
from agents.cleaning.walls import REASONS, WALLS_DIR, load, not_an_article, walls
from agents.failures.dead_letter import original_payload
from schemas.records import DeadLetter, FileSource, StoryInFlight

WALLS = [
    ("consent_wall", "We use cookies to improve your experience. Accept all cookies or manage your settings."),
    (
        "consent_wall",
        "Wir setzen auf unserer Website Cookies ein, um Ihnen den vollen Funktionsumfang anzubieten. "
        "Weitere Informationen finden Sie in unserer Datenschutzerklärung.",
    ),
    ("consent_wall", "Sitemizde çerezlerden faydalanıyoruz. Sitemizi kullanmaya devam ederek izin vermiş oluyorsunuz."),
    ("consent_wall", "Ce site utilise des cookies. Accepter et fermer."),
    ("paywall", "Once registered, you can: read 5 free articles. Already a subscriber? Sign in to continue."),
    ("paywall", "Wyłącz AdBlocka, aby czytać nasze artykuły, lub dodaj wyjątek dla naszej domeny."),
    ("paywall", "获得对 example.com 的完全访问权限\n\n前 24 周每周只需 1.99 美元"),
    ("paywall", "Чтобы продолжить чтение, оформите подписку."),
    ("bot_check", 'Jeśli chcesz połączyć się z nami zaznacz "NIE JESTEM ROBOTEM". Twój adres IP: 10.0.0.1'),
    ("bot_check", "Checking your browser before accessing the site. Please enable JavaScript."),
    ("bot_check", "أنا لست روبوت"),
    ("error_page", "404. Page not found. The page you are looking for does not exist."),
    ("error_page", "Seite nicht gefunden."),
    ("error_page", "ページが見つかりません。"),
    ("empty_shell", "Share this article\n\nFollow us on Twitter"),
    ("empty_shell", "Your name\n\nYour email address\n\nPost was not sent - check your email addresses!"),
]

ARTICLE = (
    "The European Commission fined the company on Tuesday for tracking users with cookies without their "
    "consent. Regulators said the site showed no cookie policy and set third party cookies before any choice. "
    "The company said it would appeal and that subscribers had never complained. Consumer groups welcomed the "
    "decision and asked for checks on other publishers."
)


@pytest.mark.parametrize(("reason", "body"), WALLS)
def test_walls_are_not_articles(reason: str, body: str) -> None:
    found = not_an_article(clean_text("A headline of the article the scraper wanted", body))
    assert found is not None and found.reason == reason


def test_an_article_about_cookies_and_subscriptions_is_an_article() -> None:
    assert not_an_article(clean_text("Commission fines publisher", ARTICLE)) is None


def test_an_article_under_a_consent_banner_is_an_article() -> None:
    body = "We use cookies to improve your experience. Accept all cookies.\n\n" + ARTICLE
    assert not_an_article(clean_text("Commission fines publisher", body)) is None


def test_a_short_brief_is_an_article() -> None:
    line = "Catholic academy reopens on Tuesday after a water main break."
    assert not_an_article(clean_text(line, line)) is None


def test_every_language_file_has_every_wall_reason_but_empty_shell() -> None:
    languages = {p.stem for p in WALLS_DIR.glob("*.tsv")}
    assert {"en", "fr", "de", "es", "it", "pt", "nl", "ru", "ar", "zh", "ja", "ko", "tr", "pl"} <= languages
    for path in WALLS_DIR.glob("*.tsv"):
        reasons = {line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line}
        assert set(REASONS) - {"empty_shell"} <= reasons, path.name


def test_every_wall_phrase_is_found_inside_a_sentence() -> None:
    # Phrases are looked up by their longest word (or, in Chinese and Japanese, a substring) before
    # their pattern runs: each must still be found where it stands among other words.
    phrases = walls()
    for path in sorted(WALLS_DIR.glob("*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "\t" in line and not line.startswith("#"):
                text = line.split("\t")[1]
                sentence = f"Before it, «{text.replace('*', 'two words')}»; after it."
                assert phrases.reason(sentence) is not None, f"{path.name}: {text}"


@pytest.mark.parametrize(
    ("line", "message"),
    [("paywall\tsubscribe\textra", "xx.tsv:2: expected REASON<TAB>PHRASE"), ("walled\tsubscribe", "xx.tsv:2: reason")],
)
def test_a_malformed_line_names_its_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "xx.tsv").write_text(f"# header\n{line}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=message):
        load(tmp_path)


def test_a_wall_is_dead_lettered_as_not_an_article_with_its_bytes() -> None:
    payload = orjson.dumps(
        {
            "uri": "urn:test:wall",
            "headline": "Schweiz schränkt Export ein",
            "body_text": "Wir setzen auf unserer Website Cookies ein. Akzeptieren und schließen.",
        }
    )
    [letter] = prepare(payload, None, FileSource("in.jsonl", 1), 0.0, 1 << 20)
    assert isinstance(letter, DeadLetter)
    assert (letter.error.stage, letter.error.type, letter.error.reason) == ("clean", "NotAnArticle", "consent_wall")
    assert original_payload(letter) == payload


def test_an_article_goes_on() -> None:
    payload = orjson.dumps({"uri": "urn:test:article", "headline": "Commission fines publisher", "body_text": ARTICLE})
    [story] = prepare(payload, None, FileSource("in.jsonl", 1), 0.0, 1 << 20)
    assert isinstance(story, StoryInFlight)
