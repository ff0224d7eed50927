"""Golden tests over the real wire samples in the shared folder (``../shared/eval``).

Every file in the sample folders either parses into stories, or is listed in
:data:`NOT_STORIES` with the error it must raise and why (text items without text, concept
items, formats we do not accept); pictures, video and packages pass as metadata-only items.
Key fields of a hand-checked subset (at least three per format) are compared with values read
from the files by hand. The ninjs validation suite's should-pass files must all be accepted as
raw ninjs.

The folder is ``WIRESTREAM_SHARED`` or ``<repo>/../shared``. When it is missing these tests
skip, except on CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from agents.failures.errors import StageError
from agents.formats import parse_payload
from schemas.records import AgencyTag, RawStory
from tests.bench_scripts import load_bench_script
from tests.shared_folder import shared_dir

SHARED = shared_dir()
EVAL = SHARED / "eval"
SD = "superdesk-fixtures/tests/io/fixtures/"
SAMPLE_DIRS = (
    "superdesk-fixtures/tests/io/fixtures",
    "iptc-newsml-g2/examples",
    "iptc-ninjs/examples",
    "iptc-ninjs/documentation/includes/examples",
)
SUITE = EVAL / "iptc-ninjs" / "validation" / "test_suite"
#: Not samples: schemas and read-me files.
IGNORED_SUFFIXES = frozenset({".xsd", ".md"})


def require_shared() -> None:
    """Skip when the shared folder is absent; fail instead on CI."""
    if EVAL.is_dir():
        return
    message = f"shared sample folder not found: {EVAL} (set WIRESTREAM_SHARED)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def sample_files() -> Iterator[str]:
    for folder in SAMPLE_DIRS:
        root = EVAL / folder
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and path.suffix not in IGNORED_SUFFIXES:
                    yield path.relative_to(EVAL).as_posix()


_EMPTY = "text item without body text"
_CONCEPT = "G2 concept/knowledge/catalog item: vocabulary, not news"
_FRAGMENT = "an XML fragment from the NewsML-G2 guide, not a document"
_OTHER = "not a wire format we accept"
_IPTC_SKELETON = "IPTC guide example with placeholder content"

#: Sample files that are not stories: the error type each must raise, and why.
NOT_STORIES: dict[str, tuple[str, str]] = {
    SD + "LISTING 1 A NewsML-G2 News Item.xml": ("EmptyBody", _IPTC_SKELETON),
    SD + "aap-finance-lite.xml": ("EmptyBody", "NITF with empty hedline and body.content"),
    SD + "ap_media_text_feed.json": ("EmptyBody", "AP Media API: text only as a rendition link"),
    SD + "ap_media_text_item.json": ("EmptyBody", "AP Media API: text only as a rendition link"),
    SD + "channel1": ("UnknownFormat", _OTHER),
    SD + "charset_in_subject_email.txt": ("UnknownFormat", "e-mail"),
    SD + "composite_email.txt": ("UnknownFormat", "e-mail"),
    SD + "googleform.txt": ("UnknownFormat", "e-mail"),
    SD + "googleform1.txt": ("UnknownFormat", "e-mail"),
    SD + "json-email-bad-user.txt": ("UnknownFormat", "e-mail"),
    SD + "json-email.txt": ("UnknownFormat", "e-mail"),
    SD + "ninjs4_mock.json": ("MissingUri", "HTTP mock, not ninjs"),
    SD + "odd_charset_email.txt": ("UnknownFormat", "e-mail"),
    SD + "ritzau_feed.xml": ("UnknownFormat", "Ritzau proprietary XML"),
    SD + "ritzau_news.xml": ("UnknownFormat", "Ritzau proprietary XML"),
    SD + "ritzau_news_test_ednote.xml": ("UnknownFormat", "Ritzau proprietary XML"),
    SD + "simple_email.txt": ("UnknownFormat", "e-mail"),
    SD + "upload_from_url_mock.json": ("MissingUri", "HTTP mock, not ninjs"),
    SD + "wenn.xml": ("UnknownFormat", "Atom feed"),
    SD + "wordpress_wxr.xml": ("UnknownFormat", "WordPress export"),
    SD + "wordpress_wxr_funke.xml": ("UnknownFormat", "WordPress export"),
    SD + "wordpress_wxr_thumb.xml": ("UnknownFormat", "WordPress export"),
    "iptc-newsml-g2/examples/LISTING_1_A_NewsML-G2_News_Item.xml": ("EmptyBody", _IPTC_SKELETON),
    "iptc-newsml-g2/examples/LISTING_10_Abstract_Concept_conveyed_in_a_NewsML-G2_Concept_Item.xml": (
        "NotNewsItem",
        _CONCEPT,
    ),
    "iptc-newsml-g2/examples/LISTING_11_Person_Concept_conveyed_in_a_NewsML-G2_Concept_Item.xml": (
        "NotNewsItem",
        _CONCEPT,
    ),
    "iptc-newsml-g2/examples/LISTING_12_Knowledge_Item_for_Access_Codes.xml": ("NotNewsItem", _CONCEPT),
    "iptc-newsml-g2/examples/LISTING_13_Complete_Catalog_Item.xml": ("NotNewsItem", _CONCEPT),
    "iptc-newsml-g2/examples/LISTING_15_Two_Related_Events_in_a_Knowledge_Item.xml": ("NotNewsItem", _CONCEPT),
    "iptc-newsml-g2/examples/LISTING_21_A_complete_sample_SportsML-G2_document.xml": (
        "EmptyBody",
        "SportsML statistics, no prose",
    ),
    "iptc-newsml-g2/examples/LISTING_25_An_NITF_marked-up_article_conveyed_in_inlineXML.xml": (
        "UnknownFormat",
        _FRAGMENT,
    ),
    "iptc-newsml-g2/examples/LISTING_27_Company_Financial_Information.xml": ("EmptyBody", _IPTC_SKELETON),
    "iptc-newsml-g2/examples/LISTING_28_Illustrating_Located_Subject_and_Dateline.xml": (
        "UnknownFormat",
        _FRAGMENT,
    ),
    "iptc-newsml-g2/examples/LISTING_29_Hop_History.xml": ("EmptyBody", _IPTC_SKELETON),
    "iptc-newsml-g2/examples/LISTING_7_Group_Set_example_showing_Hierarchical_Package_Structure.xml": (
        "UnknownFormat",
        _FRAGMENT,
    ),
    "iptc-newsml-g2/examples/LISTING_8_Group_Set_example_showing_an_ALT_Package_Mode.xml": (
        "UnknownFormat",
        _FRAGMENT,
    ),
    "iptc-newsml-g2/examples/LISTING_9_Group_Set_example_showing_a_SEQ_Package_Mode.xml": (
        "UnknownFormat",
        _FRAGMENT,
    ),
    "iptc-newsml-g2/examples/facet-example-2.xml": ("EmptyBody", _IPTC_SKELETON),
    "iptc-newsml-g2/examples/facet-example-3.xml": ("EmptyBody", _IPTC_SKELETON),
    "iptc-newsml-g2/examples/facet-example.xml": ("EmptyBody", _IPTC_SKELETON),
    "iptc-ninjs/examples/2.1/schema-extension/extension-schema.json": (
        "MissingUri",
        "a JSON Schema, not an item",
    ),
    "iptc-ninjs/examples/3.0/collection/20231016-event-timeline-sample.json": (
        "NotAnObject",
        "array of events",
    ),
}

#: Packets with more than one item: how many stories they give.
STORY_COUNTS = {
    SD + "ap.xml": 3,
    # a Reuters package, its text, and its video, audio and picture as metadata-only items
    SD + "video.xml": 5,
    # the IPTC skeleton of a news message: a package without a guid (left out) and four bare items
    "iptc-newsml-g2/examples/LISTING_24_News_Message_conveying_a_complete_News_Package.xml": 4,
}


def _body_has(text: str) -> dict[str, str]:
    return {"body~": text}


#: Key fields checked by hand against the files (``body~``: a substring of the body;
#: ``tags+``: tags that must be among the story's tags).
EXPECTED: dict[str, dict[str, Any]] = {
    # ---- ninjs
    SD + "ninjs1.json": {
        "format": "ninjs",
        "uri": "urn:newsml:localhost:2017-08-24T14:37:19.783611:c044162e-7f40-4d04-b700-49b6a66e652c",
        "version": "2",
        "versioncreated": "2017-08-24T04:38:34+00:00",
        "language": "fr",
        "headline": "headline",
        "byline": "Peter and Jane",
        "located": "Milton Keynes",
        "slugline": "slugline",
        "urgency": 3,
        "pubstatus": "usable",
        "provider": "AAP",
        "body": "<p>The story so far.</p>",
        "body_type": "text/html",
        "tags+": [AgencyTag("subject", "arts, culture and entertainment", None, "01000000")],
    },
    "iptc-ninjs/examples/3.0/dpa_text.json": {
        "format": "ninjs",
        "uri": "urn:newsml:dpa.com:20090101:190510-99-167362",
        "version": "2",
        "versioncreated": "2019-05-10T16:02:28+02:00",
        "language": "de",
        "headline": "Faktencheck Derby-Elfmeter: Hat Schiedsrichter Zwayer recht?",
        "byline": "Von Christian Hollmann, dpa",
        "urgency": 4,
        "pubstatus": "usable",
        "provider": "dpa",
        "body_type": "text/html",
        **_body_has("Für Lucien Favre war es «der größte Skandal im Fußball seit Jahren»."),
    },
    "iptc-ninjs/examples/2.1/tt_text_image_2.json": {
        "uri": "http://tt.se/media/text/210526-militarovning-a0f2d045",
        "version": "1",
        "language": "sv",
        "headline": "Militärövning i jätteformat hålls 2023",
        "slugline": "militärövning",
        "urgency": 3,
        "provider": "TT",
        "body_type": "text/plain",
        "tags+": [AgencyTag("person", "Jonas Svensson")],
    },
    "iptc-ninjs/examples/3.0/ntb_text.json": {
        "uri": "urn:8d19cf88-b3ab-4972-8fec-1207599f2872",
        "version": "6",
        "language": "nb-NO",
        "headline": "Google har kjøpt giganttomt i Skien",
        "byline": "NTB",
        "slugline": "skien-google",
        "urgency": 5,
        "provider": "NTB",
        **_body_has("IT-giganten Google har kjøpt en tomt på nærmere 2.000 mål i Skien"),
    },
    SD + "bbc-ninjs-text-test.json": {
        "uri": "https://www.example.com//12345",
        "headline": "advisory",
        "byline": "John Doe",
        "body": "<p><strong>body</strong></p>",
    },
    # ---- NewsML-G2
    SD + "tag_reuters.com_2014_newsml_KBN0FL0NN_version_5": {
        "format": "newsml-g2",
        "uri": "tag_reuters.com_2014_newsml_KBN0FL0NN",
        "version": "5",
        "versioncreated": "2014-07-16T15:53:10.000Z",
        "firstcreated": "2014-07-16T08:10:15.000Z",
        "language": "en-US",
        "headline": "Confident Assad launches new term in stronger position",
        "byline": "By Marwan Makdisi",
        "located": "Bangalore",
        "slugline": "US-SYRIA-CRISIS-ASSAD",
        "urgency": 4,
        "pubstatus": "usable",
        "provider": "reuters.com",
        "body_type": "text/html",
        **_body_has("<p>DAMASCUS (Reuters) - Bashar al-Assad was sworn in for a new term"),
        "tags+": [AgencyTag("subject", None, "http://cv.iptc.org/newscodes/subjectcode/02000000")],
    },
    SD + "ap.xml": {
        "format": "newsml-g2",
        "uri": "tag:ap.org,2011:5e565888b587889c5c8bd62b6164118c-text",
        "version": "2",
        "versioncreated": "2018-02-26T21:20:34Z",
        "language": "en",
        "headline": "Nutrisystem beats 4Q earnings and revenue expectations",
        "located": "Pittsburgh",
        "slugline": "BC-US--Earns-Nutrisystem, 1st Ld-Writethru",
        "urgency": 4,
        **_body_has("FORT WASHINGTON, Pa. (AP) _ Nutrisystem Inc. (NTRI) on Monday"),
    },
    SD + "dpa.xml": {
        "uri": "urn:newsml:dpa.com:20090101:221011-930-4303",
        "version": "1",
        "language": "de",
        "headline": "Eintracht in London: Hintereggers Tränen und Attacke auf Reporter",
        "located": "London",
        "urgency": 4,
        "pubstatus": "usable",
    },
    "iptc-newsml-g2/examples/LISTING_2_NewsML-G2_Text_Document.xml": {
        "uri": "urn:newsml:acmenews.com:20161121:US-FINANCE-FED",
        "version": "11",
        "versioncreated": "2018-11-21T16:25:32-05:00",
        "language": "en-US",
        "headline": 'Fed to halt QE to avert "bubble"',
        "slugline": "US-Finance-Fed",
        "located": "New York, NY",
        "tags+": [AgencyTag("subject", "central bank", "http://cv.iptc.org/newscodes/mediatopic/20000350")],
    },
    SD + "ansa-newsmlg2-text.xml": {
        "uri": "tag:ansa.it,2017-10-11:40e5fb1034e7e2b21942ea09718fc85a",
        "language": "it",
        "headline": "Catalan independence declaration unacceptable - Alfano",
        "located": "Rome",
        "urgency": 5,
        "body_type": "text/html",  # inlineData declared text/plain but carries <p> markup
        **_body_has("(ANSA) - Rome, October 11 - Italian Foreign Minister Angelino"),
    },
    # ---- NITF
    SD + "efe_nitf.xml": {
        "format": "nitf",
        "uri": "22751909",
        "versioncreated": "2017-01-02T22:28:00+00:00",
        "headline": "Honduran president announces Cabinet changes",
        "byline": "gr/bp",
        "located": "Tegucigalpa",
        "urgency": 5,
        "pubstatus": "usable",
        "provider": "Agencia EFE",
        **_body_has("Tegucigalpa, Jan 2 (EFE).- Test body."),
        "tags+": [AgencyTag("subject", "Executive (government)", "http://cv.iptc.org/newscodes/subjectcode/11006005")],
    },
    SD + "nitf-ntb.xml": {
        "uri": "faktisk-d9cde75b-256e-4989-b6a3-b8ad27f43a5c_47",
        "version": "48",
        "headline": "Faktisk.no: Nei, dette dokumentet beskriver ikke FNs Agenda 21 eller Agenda 2030",
        "byline": "Geir Molnes / Faktisk.no",
        "located": "Oslo",
        "urgency": 5,
        "provider": "NTB",
        **_body_has("på"),
    },
    SD + "ap-nitf.xml": {
        "headline": "Can trading pollution like stocks help fight climate change?",
        "byline": "By BERNARD CONDON AP Business Writer",
        "located": "NEW YORK",
        "provider": "AP",
        "versioncreated": "2015-12-10T19:10:44Z",
        **_body_has("NEW YORK (AP) — The gas produced by hog manure"),
    },
    SD + "pa1.xml": {
        "uri": "af1f7ad5-5619-49de-84cc-2e608538c77fSSS-3-1",
        "headline": "PA SPORT TRIVIA (OCTOBER 14)",
        "urgency": 4,
        "pubstatus": "usable",
        "provider": "PA Sport",
        "slugline": "Trivia (Oct 14)",
    },
    # ---- NewsML 1.2
    SD + "afp.xml": {
        "format": "newsml-1.2",
        "uri": "urn:newsml:afp.com:20140829T135002Z:TX-PAR-FXW86",
        "version": "1",
        "versioncreated": "2014-08-29T13:49:51+00:00",
        "language": "en",
        "headline": "Sweden court accepts receivership for Saab carmaker",
        "slugline": "Sweden-SAAB",
        "located": "Stockholm",
        "urgency": 4,
        "pubstatus": "usable",
        "provider": "AFP",
        **_body_has("<p>A Chinese-owned company set up to take over Saab's assets"),
        "tags+": [AgencyTag("subject", None, "http://cv.iptc.org/newscodes/subjectcode/04011002")],
    },
    SD + "afp20.xml": {  # declared ISO-8859-1, actually UTF-8
        "uri": "urn:newsml:afp.com:20240710:240710125902.qpsp2jzk",
        "language": "fr",
        "headline": "Décès de Naomi Musenga: l'opératrice du Samu définitivement condamnée",
        "slugline": "procès-santé-secours",
    },
    SD + "ana1.xml": {
        "uri": "urn:newsml:ana-mpe.gr:20180404:19336333",
        "headline": "Wage employment balance positive in Jan-March",
        "located": "Athens",
        "urgency": 5,  # from the envelope's Priority
        "provider": "ΑΠΕ-ΜΠΕ",
        "tags+": [AgencyTag("subject", "Employment/Unemployment", "http://cv.iptc.org/newscodes/subjectcode/09003000")],
    },
    "iptc-ninjs/examples/NewsML/businesswire-newsml-20130605006126.xml": {
        "uri": "urn:newsml:businesswire.com:20010714:20130605006126",
        "language": "zh",
        "headline": "Cambrios被Gartner評選為「最酷供應商」",
        "slugline": "CA-CAMBRIOS-TECHNOLOGIES",
        "provider": "Cambrios Technologies",
        **_body_has("Cambrios Technologies"),
    },
    # ---- ANPA-1312
    SD + "anpa-1.tst": {
        "format": "anpa-1312",
        "uri": "urn:wirestream:anpa-1312:AP:2013-11-13:BC-LT--Argentina-CancerB",
        "version": "0",
        "versioncreated": "2013-11-13T15:09:00Z",
        "headline": "For Argentine chemo patients, mirrors can hurt",
        "byline": "By PAUL BYRNE and ALMUDENA CALATRAVA",
        "provider": "AP",
        **_body_has("BUENOS AIRES, Argentina (AP) _ For cancer patients dealing with the physical"),
    },
    SD + "anpa-2.tst": {
        "version": "1",
        "headline": "Prairies vanish in the US push for green energy",
        "byline": "By CHET BROKAW and JACK GILLUM",
        **_body_has("ROSCOE, South Dakota (AP) _ Robert Malsam nearly went broke"),
    },
    SD + "ap_anpa-4.tst": {
        "version": "3",
        "headline": "AP Exclusive: China lawyer's family says US helped them flee",
        "byline": "By GERRY SHIH",
        "versioncreated": "2017-05-09T00:56:00Z",
    },
    SD + "ap_anpa-5.tst": {
        "urgency": 2,  # b = bulletin
        "body": "HONOLULU (AP) _ Hawaii files court challenge to Trump administration's definition of close "
        "U.S. relationship needed to avoid travel ban.",
    },
    # ---- IPTC 7901
    SD + "IPTC7901.txt": {
        "format": "iptc-7901",
        "uri": "urn:wirestream:iptc-7901:dpa:2013-11-13:eca062",
        "headline": "Germany Social Democrats: Coalition talks with Merkel could fail",
        "slugline": "Germany-politics",
        "urgency": 4,
        "provider": "dpa",
        "versioncreated": "2013-11-13T11:37:00Z",
        **_body_has("Berlin (dpa) - Negotiations between German conservatives headed by Chancellor"),
    },
    SD + "IPTC7901_odd_charset.txt": {  # Latin-1 bytes
        "headline": "German football saddened by illness to striker legend Mueller",
        "byline": "By Manuel Schwarz, dpa",
        **_body_has("Thomas Müller"),
    },
    SD + "dpa_four_line.txt": {
        "headline": "Switzerland joins list of countries resisting UN migration pact",
        "byline": "By dpa correspondents",
        "slugline": "Switzerland/migration/UN",
        "urgency": 3,
        **_body_has("Geneva (dpa) - Switzerland is joining a growing number of countries"),
    },
}


def _parse(rel: str) -> list[RawStory]:
    return parse_payload((EVAL / rel).read_bytes())


def test_shared_folder_present() -> None:
    require_shared()
    assert any(True for _ in sample_files())


@pytest.mark.parametrize("rel", list(sample_files()))
def test_every_sample_parses_or_is_listed(rel: str) -> None:
    require_shared()
    if rel in NOT_STORIES:
        error_type, why = NOT_STORIES[rel]
        with pytest.raises(StageError) as info:
            _parse(rel)
        assert info.value.error_type == error_type, why
        return
    stories = _parse(rel)
    assert len(stories) == STORY_COUNTS.get(rel, 1)
    for story in stories:
        assert story.uri.strip()
        # A story has text, or is a metadata-only item (a picture, package, event…) without a body.
        assert story.body is None or story.body.strip()
        # (ninjs: a text item with no body field at all is a metadata update)
        assert (
            story.body is not None
            or story.item_type != "text"
            or story.pubstatus == "canceled"
            or (story.format == "ninjs")
        )


def test_manifest_lists_only_existing_files() -> None:
    require_shared()
    present = set(sample_files())
    assert set(NOT_STORIES) <= present
    assert set(EXPECTED) <= present


def test_at_least_three_hand_checked_samples_per_format() -> None:
    require_shared()
    formats: dict[str, int] = {}
    for rel in EXPECTED:
        fmt = _parse(rel)[0].format
        formats[fmt] = formats.get(fmt, 0) + 1
    assert set(formats) == {"ninjs", "newsml-g2", "nitf", "newsml-1.2", "anpa-1312", "iptc-7901"}
    assert min(formats.values()) >= 3, formats


@pytest.mark.parametrize("rel", list(EXPECTED))
def test_key_fields(rel: str) -> None:
    require_shared()
    story = next(s for s in _parse(rel) if s.body is not None)  # the text item of a packet
    for key, expected in EXPECTED[rel].items():
        if key == "body~":
            assert story.body is not None and expected in story.body
        elif key == "tags+":
            for tag in expected:
                assert tag in story.tags
        else:
            assert getattr(story, key) == expected, key


def test_ap_packet_gives_three_stories() -> None:
    require_shared()
    stories = _parse(SD + "ap.xml")
    assert [s.headline for s in stories] == [
        "Nutrisystem beats 4Q earnings and revenue expectations",
        "DiamondRock Hospitality posts 4Q FFO of $50.7 million, results top expectations",
        "Scripps Networks tops 4Q profit and revenue expectations",
    ]


def test_two_versions_of_the_same_reuters_story() -> None:
    require_shared()
    (usable,) = _parse(SD + "tag_reuters.com_2016_newsml_L1N14N0FF_version_978556838")
    assert (usable.uri, usable.version, usable.pubstatus) == (
        "tag:reuters.com,0000:newsml_L1N14N0FF",
        "978556838",
        "usable",
    )
    # The later version cancels it: a kill notice, with no text by nature, passes as metadata-only.
    (canceled,) = _parse(SD + "tag_reuters.com_2016_newsml_L1N14N0FF_version_1542761538")
    assert (canceled.uri, canceled.version, canceled.pubstatus, canceled.item_type, canceled.body) == (
        usable.uri,
        "1542761538",
        "canceled",
        "text",
        None,
    )


def suite_files(kind: str) -> list[str]:
    if not SUITE.is_dir():
        return []
    return sorted(p.relative_to(SUITE).as_posix() for p in SUITE.glob(f"*/{kind}/*.json"))


@pytest.fixture(scope="module")
def ninjs_validators() -> dict[str, Any]:
    validator = load_bench_script("check_ninjs").validator
    return {version: validator(version) for version in ("2.2", "3.0")}


@pytest.mark.parametrize("rel", suite_files("should_pass"))
def test_ninjs_validation_suite_should_pass_is_accepted(rel: str, ninjs_validators: dict[str, Any]) -> None:
    """Accepted as raw input, and enriched into an item valid against ninjs 2.2: the very
    stage functions of the worker (validate, clean, language, dedup, entities); its entities
    written as a ninjs 3.0 item are valid against ninjs 3.0."""
    require_shared()
    from agents.clean import prepare
    from agents.dedup import deduplicate
    from agents.entities import enrich_or_dead_letter
    from agents.ner.linking import linker
    from schemas.ninjs import build_item
    from schemas.records import EnrichedStory, FileSource, StoryInFlight

    payload = (SUITE / rel).read_bytes()
    (story,) = parse_payload(payload, "application/json")
    assert story.uri
    outcomes = prepare(payload, "application/json", FileSource(rel, 1), 0.0, 2**21)
    assert all(isinstance(o, StoryInFlight) for o in outcomes), outcomes
    passed = [deduplicate(o, {}, 3600.0) for o in outcomes if isinstance(o, StoryInFlight)]
    assert all(isinstance(o, StoryInFlight) for o in passed)
    stories = [o for o in passed if isinstance(o, StoryInFlight)]
    for story, enriched in zip(stories, enrich_or_dead_letter(stories, "test"), strict=True):
        assert isinstance(enriched, EnrichedStory), enriched
        errors = [e.message for e in ninjs_validators["2.2"].iter_errors(enriched.item)]
        assert not errors, (rel, errors)
        item_30 = build_item(story, enriched.enrichment.merged_entities, "3.0", linker().points)
        errors = [e.message for e in ninjs_validators["3.0"].iter_errors(item_30)]
        assert not errors, (rel, "3.0", errors)


def test_validation_suite_present() -> None:
    require_shared()
    assert len(suite_files("should_pass")) >= 150
