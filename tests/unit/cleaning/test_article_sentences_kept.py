"""No article sentence is lost to a boilerplate rule, in any script.

The bodies are written here for the purpose (short news paragraphs in sixteen languages);
the boilerplate appended to them is what scrapers leave at the end of articles: credits,
copyright lines, share and newsletter prompts, "read more" lines.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agents.cleaning import clean_text
from agents.cleaning.segment import sentences, word_count

# (language, sentence separator, sentences): each sentence ends like a sentence of its script.
ARTICLES: list[tuple[str, str, list[str]]] = [
    (
        "en",
        " ",
        [
            "The city council approved the new budget on Tuesday after a long debate.",
            "Opposition members said the plan cuts too deeply into school funding.",
            "The mayor told reporters that spending on roads would rise by 4 percent.",
            "A final vote on the transport levy is expected next month.",
            "Residents who spoke at the hearing asked for more bus routes in the north.",
        ],
    ),
    (
        "fr",
        " ",
        [
            "Le gouvernement a présenté mardi son projet de loi sur l'énergie.",
            "Les syndicats appellent à une grève nationale le 12 mars.",
            "Selon le ministre, la réforme doit réduire les factures des ménages.",
            "Les députés de l'opposition dénoncent un texte « écrit à la hâte ».",
        ],
    ),
    (
        "de",
        " ",
        [
            "Der Bundestag hat am Donnerstag das neue Heizungsgesetz beschlossen.",
            "Die Opposition kritisierte die kurze Beratungszeit scharf.",
            "Nach Angaben des Ministeriums sollen Hausbesitzer Zuschüsse erhalten.",
            "Der Bundesrat muss dem Gesetz im Juli noch zustimmen.",
        ],
    ),
    (
        "es",
        " ",
        [
            "El Banco de España elevó el jueves su previsión de crecimiento.",
            "La inflación se moderó en marzo por la bajada de la electricidad.",
            "¿Qué significa esto para las hipotecas de las familias?",
            "Los analistas esperan que los tipos bajen antes del verano.",
        ],
    ),
    (
        "it",
        " ",
        [
            "Il consiglio dei ministri ha approvato ieri la manovra economica.",
            "Le regioni chiedono più fondi per la sanità pubblica.",
            "Secondo il ministro, il deficit scenderà sotto il tre per cento.",
        ],
    ),
    (
        "pt",
        " ",
        [
            "O governo anunciou nesta segunda-feira um novo pacote de investimentos.",
            "As obras devem começar no segundo semestre em cinco estados.",
            "Economistas dizem que o plano depende da aprovação do Congresso.",
        ],
    ),
    (
        "nl",
        " ",
        [
            "Het kabinet heeft dinsdag nieuwe maatregelen tegen de woningnood aangekondigd.",
            "Gemeenten krijgen meer geld om sociale huurwoningen te bouwen.",
            "De oppositie noemt het plan onvoldoende.",
        ],
    ),
    (
        "ru",
        " ",
        [
            "Правительство во вторник утвердило новый бюджет на следующий год.",
            "Расходы на здравоохранение вырастут на семь процентов.",
            "Депутаты рассмотрят документ в первом чтении в октябре.",
        ],
    ),
    (
        "ar",
        " ",
        [
            "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لدعم المزارعين.",
            "وقال الوزير إن الخطة تشمل قروضا ميسرة لمدة خمس سنوات.",
            "هل ستكفي هذه الإجراءات لخفض أسعار الغذاء؟",
            "ومن المتوقع أن يناقش البرلمان الخطة الأسبوع المقبل.",
        ],
    ),
    (
        "zh",
        "",
        [
            "国务院周二公布了新的住房补贴政策。",
            "根据新政策，首次购房的家庭可以获得更低的贷款利率。",
            "专家表示，这一措施有助于稳定房地产市场。",
            "地方政府将在下个月公布具体实施细则。",
            "记者在北京采访了多位购房者，他们对政策表示欢迎！",
        ],
    ),
    (
        "ja",
        "",
        [
            "政府は火曜日、新しい経済対策を発表した。",
            "対策には子育て世帯への給付金が含まれる。",
            "野党は財源が不十分だと批判している。",
        ],
    ),
    (
        "tr",
        " ",
        [
            "Merkez Bankası perşembe günü faiz oranını sabit tuttu.",
            "Kurul, enflasyonun yılın ikinci yarısında düşmesini bekliyor.",
            "Ekonomistler kararın piyasalarda olumlu karşılandığını söyledi.",
        ],
    ),
    (
        "pl",
        " ",
        [
            "Sejm przyjął w piątek nowelizację ustawy o podatku dochodowym.",
            "Zmiany mają wejść w życie od początku przyszłego roku.",
            "Opozycja zapowiedziała skargę do Trybunału Konstytucyjnego.",
        ],
    ),
    (
        "th",
        " ",
        [
            "รัฐบาลประกาศมาตรการช่วยเหลือเกษตรกรเมื่อวันอังคาร",
            "ธนาคารจะปล่อยสินเชื่อดอกเบี้ยต่ำเป็นเวลาห้าปี",
            "นักเศรษฐศาสตร์เชื่อว่ามาตรการนี้จะช่วยลดต้นทุนการผลิต",
        ],
    ),
    (
        "km",
        "",
        [
            "រដ្ឋាភិបាលបានប្រកាសផែនការថ្មីសម្រាប់កសិករនៅថ្ងៃអង្គារ។",
            "ធនាគារនឹងផ្តល់កម្ចីការប្រាក់ទាបរយៈពេលប្រាំឆ្នាំ។",
            "អ្នកសេដ្ឋកិច្ចជឿថាផែនការនេះនឹងជួយកសិករ។",
        ],
    ),
    (
        "hi",
        " ",
        [
            "सरकार ने मंगलवार को किसानों के लिए नई योजना की घोषणा की।",
            "बैंक पांच साल के लिए कम ब्याज पर ऋण देंगे।",
            "अर्थशास्त्रियों का मानना है कि इससे उत्पादन लागत घटेगी।",
        ],
    ),
]

# What scrapers leave after an article, in several languages.
BOILERPLATE = [
    "© 2020 The New York Times Company",
    "© 2020 纽约时报公司",
    "© boonchai wedmakawand via Getty Images",
    "© AFP 2024",
    "REUTERS/Jane Doe",
    "Photo: Getty Images",
    "Foto: dpa",
    "(AP Photo/Evan Vucci)",
    "Share this article",
    "Follow us on Twitter",
    "Sign up for our newsletter",
    "Advertisement",
    "Read more: Budget talks stall",
    "Lesen Sie auch: Streit um den Haushalt",
    "Lire aussi : La réforme des retraites",
    "Abonnez-vous à notre newsletter",
    "Compartir en Facebook",
    "责任编辑：张三",
    "相关阅读",
    "Фото: РИА Новости",
    "اقرأ أيضا: الحكومة تعلن الميزانية",
]

# One sentence followed by an agency credit is how a photo caption reads
# ("Firefighters at the scene. John Smith/AFP"): such a paragraph is removed whole, by design.
AGENCY_CREDITS = {"REUTERS/Jane Doe"}

_STRATEGY = st.tuples(
    st.sampled_from(ARTICLES),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=3),
    st.lists(st.sampled_from(BOILERPLATE), min_size=1, max_size=4),
    st.sampled_from(["paragraph", "same-paragraph"]),
)


def _article(language: tuple[str, str, list[str]], count: int, per_paragraph: int) -> tuple[list[str], list[str]]:
    """The chosen sentences and the paragraphs they make, ``per_paragraph`` sentences each."""
    _, separator, pool = language
    chosen = [pool[i % len(pool)] for i in range(count)]
    chosen = list(dict.fromkeys(chosen))
    paragraphs = [separator.join(chosen[i : i + per_paragraph]) for i in range(0, len(chosen), per_paragraph)]
    return chosen, paragraphs


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STRATEGY)
def test_appending_boilerplate_keeps_every_article_sentence(case: tuple) -> None:  # type: ignore[type-arg]
    language, count, per_paragraph, boilerplate, where = case
    chosen, paragraphs = _article(language, count, per_paragraph)
    if where == "paragraph":
        body = "\n\n".join([*paragraphs, *boilerplate])
    else:
        one_sentence = len(paragraphs[-1]) == len(chosen[-1])
        assume(not (one_sentence and AGENCY_CREDITS.intersection(boilerplate)))
        glue = language[1] or " "
        paragraphs[-1] = paragraphs[-1] + glue + glue.join(boilerplate)
        body = "\n\n".join(paragraphs)
    clean = clean_text("Headline of another story", body)
    for sentence in chosen:
        assert sentence in clean.body, (sentence, body, clean.removed)


def test_chinese_paragraph_with_a_closing_copyright_loses_only_the_copyright() -> None:
    # Scraped as one paragraph: on the old rules the whole article went as a caption credit.
    article = "".join(ARTICLES[9][2])
    clean = clean_text(None, article + " © 2020 纽约时报公司")
    assert clean.body == article
    assert [(r.text, r.reason) for r in clean.removed] == [("© 2020 纽约时报公司", "copyright_notice")]


def test_a_caption_with_its_credit_is_still_removed_whole() -> None:
    clean = clean_text(None, "The story goes on here.\n\nProtesters march in Paris on Monday. REUTERS/Jane Doe")
    assert clean.body == "The story goes on here."


def test_a_rule_that_would_empty_the_body_is_refused() -> None:
    clean = clean_text(None, "Share this article\n\nFollow us on Twitter")
    assert clean.body == "Share this article\n\nFollow us on Twitter"
    assert clean.removed == []
    assert sorted(r.reason for r in clean.refused) == ["follow_prompt", "share_prompt"]


def test_a_body_equal_to_its_headline_is_kept() -> None:
    line = "Catholic academy reopens on Tuesday after a water main break."
    clean = clean_text(line, line)
    assert clean.body == line
    assert [r.reason for r in clean.refused] == ["repeated_headline"]


def test_a_unit_that_is_most_of_the_body_is_refused() -> None:
    # A long body paragraph equal to the headline is not the headline repeated by a page.
    long_line = " ".join(["The committee met again on Friday to discuss the budget"] * 3) + "."
    clean = clean_text(long_line, long_line + "\n\nIt ended late.")
    assert long_line in clean.body
    assert [r.reason for r in clean.refused] == ["repeated_headline"]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("「你好。」他说。", ["「你好。」", "他说。"]),
        ("هل تأتي؟ نعم.", ["هل تأتي؟", "نعم."]),
        ("یہ پہلا جملہ ہے۔ دوسرا", ["یہ پہلا جملہ ہے۔", "دوسرا"]),
        ("รัฐบาลประกาศ ธนาคารจะปล่อย", ["รัฐบาลประกาศ", "ธนาคารจะปล่อย"]),
        ("រដ្ឋាភិបាល។ធនាគារ។", ["រដ្ឋាភិបាល។", "ធនាគារ។"]),
        ("सरकार ने घोषणा की। बैंक देंगे।", ["सरकार ने घोषणा की।", "बैंक देंगे।"]),
        ("It rose 3.5 percent. Then it fell.", ["It rose 3.5 percent.", "Then it fell."]),
    ],
)
def test_sentences_in_every_script(paragraph: str, expected: list[str]) -> None:
    assert [paragraph[a:b] for a, b in sentences(paragraph)] == expected


def test_word_count_of_unspaced_scripts() -> None:
    assert word_count("Three plain words") == 3
    assert word_count("国务院周二公布了新的住房补贴政策。") == 8  # 16 letters, half a word each
    assert word_count("2020年 AFP 图片") == 3  # one spaced word, three letters
