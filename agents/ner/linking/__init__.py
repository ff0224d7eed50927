"""Link entity names to stable identifiers shared across languages (Wikidata or GeoNames URIs).

The name lists are data files kept in this folder (sources in ``SOURCES.md``):

* ``people.tsv``: heads of state and government (and a few former ones), with names in
  several languages and scripts ("Poutine", "Putin", "Путин" → Q7747);
* ``organisations.tsv``: international organisations ("OTAN", "NATO", "НАТО" → Q7184);
* ``places.tsv``: countries, capitals and cities of a million people or more, built by
  ``models/build_linking_places.py`` from GeoNames and CLDR names, with the coordinates of
  each place (GeoNames for cities, ``countryinfo`` centre points for countries) when known.

Lookup is one dict access on a folded name (:func:`fold`); the tables load once per process.
A name shared by several places goes to a country first, then a capital, then the most
populous city. Anything not in the lists stays unlinked: no guessing.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DATA = Path(__file__).resolve().parent
Kind = Literal["PER", "ORG", "LOC"]
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_PLACE_RANK = {"country": 0, "capital": 1, "city": 2}
#: Which tables a mention of each NER type is looked up in, in order. A country tagged ORG
#: ("la Russie a déclaré…" metonymy, a national team) or an organisation tagged LOC ("l'UE") still
#: links; a city tagged ORG does not: it is far more often a club named after it ("Barcelona won",
#: "TORONTO AT CHICAGO") than a city (measured on CoNLL-2003, docs/entities.md).
_TABLES: dict[str, tuple[str, ...]] = {
    "PER": ("PER",),
    "ORG": ("ORG", "COUNTRY"),
    "LOC": ("LOC", "ORG"),
    "MISC": ("ORG",),
}


def fold(text: str) -> str:
    """The lookup key of a name: case-folded, accents and apostrophes dropped, punctuation
    and hyphens as single spaces ("États-Unis" → "etats unis", "U.S." → "u s")."""
    decomposed = unicodedata.normalize("NFKD", text.replace("'", "").replace("\u2019", ""))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


@dataclass(slots=True, frozen=True)
class Link:
    """What a name links to: its URI, kind (PER/ORG/LOC) and canonical (English) name."""

    uri: str
    kind: Kind
    name: str


#: A place's position: (longitude, latitude) in degrees (WGS 84), GeoJSON's order.
Point = tuple[float, float]


class Linker:
    """Folded name → :class:`Link`, one table per kind, and place URI → :data:`Point`."""

    def __init__(self, data: Path = DATA) -> None:
        #: PER, ORG and LOC (every place), and COUNTRY: the places that are countries or territories.
        self.tables: dict[str, dict[str, Link]] = {"PER": {}, "ORG": {}, "LOC": {}, "COUNTRY": {}}
        #: The position of every place of ``places.tsv`` that has one, by URI.
        self.points: dict[str, Point] = {}
        self._load_simple(data / "people.tsv", "PER", names_column=6)
        self._load_simple(data / "organisations.tsv", "ORG", names_column=3)
        self._load_places(data / "places.tsv")

    def _load_simple(self, path: Path, kind: Kind, names_column: int) -> None:
        table = self.tables[kind]
        for fields in _rows(path):
            link = Link(f"https://www.wikidata.org/entity/{fields[0]}", kind, fields[1])
            for name in [fields[1], *fields[names_column].split("|")]:
                key = fold(name)
                if key:
                    table.setdefault(key, link)

    def _load_places(self, path: Path) -> None:
        rows = sorted(_rows(path), key=lambda f: (_PLACE_RANK[f[1]], -int(f[3])))
        table, countries = self.tables["LOC"], self.tables["COUNTRY"]
        for uri, kind, _iso, _population, longitude, latitude, name, names in rows:
            link = Link(uri, "LOC", name)
            if longitude and latitude:
                self.points[uri] = (float(longitude), float(latitude))
            for alias in [name, *names.split("|")]:
                key = fold(alias)
                if key:
                    table.setdefault(key, link)
                    if kind == "country":
                        countries.setdefault(key, link)

    def lookup(self, entity_type: str, name: str) -> Link | None:
        """The link for a mention of ``entity_type`` named ``name``, or None."""
        key = fold(name)
        for kind in _TABLES.get(entity_type, ()):
            found = self.tables[kind].get(key)
            if found is not None:
                return found
        return None

    def __len__(self) -> int:
        return sum(len(table) for kind, table in self.tables.items() if kind != "COUNTRY")


def _rows(path: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


_linker: Linker | None = None
_lock = threading.Lock()


def linker() -> Linker:
    """The process-wide linker, loaded on first use."""
    global _linker
    with _lock:
        if _linker is None:
            _linker = Linker()
        return _linker
