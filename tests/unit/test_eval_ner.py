"""bench/eval_ner.py's "as emitted" score reads the stage's own output, not the model's raw spans."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def eval_ner() -> ModuleType:
    return load_bench_script("eval_ner")


def test_emitted_spans_drop_junk_and_take_their_entitys_type(eval_ner: ModuleType) -> None:
    words = ["Roma", "e", "la", "Russie", "n’", "Share", "Post", "Mario", "Rossi", "."]
    doc = Doc(Vocab(), words=words)
    doc.ents = [
        Span(doc, 0, 1, label="PER"),  # a capital tagged as a person
        Span(doc, 3, 4, label="ORG"),  # a country tagged as an organisation
        Span(doc, 4, 5, label="PER"),  # an elision fragment
        Span(doc, 5, 7, label="ORG"),  # page chrome
        Span(doc, 7, 9, label="PER"),
    ]
    assert eval_ner.emitted_spans(doc) == {(0, 1, "LOC"), (3, 4, "LOC"), (7, 9, "PER")}


def test_a_dev_file_is_read_with_the_training_readers(eval_ner: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "dev.txt"
    path.write_text("Mario I-PER\nRossi I-PER\nvive O\na O\nRoma I-LOC\n\n", encoding="utf-8")
    test = eval_ner.TestSet.from_spec(f"it:iob1:{path}")
    (sentence,) = test.sentences()
    assert sentence.words == ("Mario", "Rossi", "vive", "a", "Roma")
    assert sentence.tags == ("B-PER", "I-PER", "O", "O", "B-LOC")
