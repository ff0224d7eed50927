#!/usr/bin/env python3
"""A deterministic benchmark corpus of raw stories built from real article texts.

Reads ``$WIRESTREAM_SHARED/eval`` (default ``<repo>/../shared/eval``) at run time; nothing of it
is copied into the repository:

* ``scrapinghub-aeb``: the ground-truth ``articleBody`` of its 181 pages (mostly English news) and
  the pages themselves (whole web pages);
* ``trafilatura-eval``: its pages (mostly German, plus English, Polish, French, Spanish, …) as whole
  web pages, and the text trafilatura extracts from them (``--text-pages``, default 400) as article
  texts.

Each **original** story is ~600 words (the target length is drawn log-normally around a 600-word
median; texts are assembled from consecutive paragraph chunks of an article, continued with another
article of the same collection when one runs out) and goes out as plain text (60 %), an HTML
fragment with a caption, an aside and an embed (25 %), or a whole web page (15 %), in ninjs 1.x or
2.x spelling. About 30 % of the records are **copies** of earlier ones: re-sends (same uri and
version), syndicated copies (other uri, same text in other quotes and line breaks), near copies
(chrome added, a sentence edited, the end cut), newer versions (same uri, version + 1, edited) and
stale versions (an older version after the newer one). 1 % are **bad records** (truncated JSON,
not an object, no uri, invalid UTF-8, a body with no text). Everything follows from ``--seed``.

    python bench/corpus.py --n 2000 --seed 7 --out .local/bench/corpus.jsonl   # and prints a summary
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
from _repo import shared_dir

# Shares of the whole corpus.
COPY_SHARE = 0.30
BAD_SHARE = 0.01
# Kinds of copies and their shares among the copies.
COPY_KINDS = {"resend": 0.20, "syndicated": 0.20, "near": 0.30, "version": 0.22, "stale": 0.08}
# Body kinds of the originals.
BODY_KINDS = {"text": 0.60, "fragment": 0.25, "page": 0.15}
BAD_KINDS = ("truncated-json", "not-an-object", "no-uri", "invalid-utf8", "empty-body")
MEDIAN_WORDS = 600
CHUNK_WORDS = 120
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def trafilatura_eval_page(tests_dir: Path, item: dict[str, Any]) -> Path | None:
    """The gzipped page of one ``evaldata.json`` item of the trafilatura evaluation set
    (``tests/cache`` or ``tests/eval``), or None when the set does not store it."""
    name = f"{item['file']}.gz"
    return next((p for d in ("cache", "eval") if (p := tests_dir / d / name).exists()), None)


@dataclass(slots=True)
class Article:
    key: str
    collection: str
    headline: str
    language: str | None  # declared language, when the collection says
    paragraphs: list[str]


@dataclass(slots=True)
class Page:
    key: str
    headline: str
    html: str


@dataclass(slots=True)
class Record:
    """One raw message: its bytes, and what the generator meant it to be."""

    payload: bytes
    kind: str  # original-text|original-fragment|original-page|resend|syndicated|near|version|stale|bad-*
    uri: str | None
    words: int = 0


@dataclass(slots=True)
class Sources:
    articles: list[Article]
    pages: list[Page]
    load_seconds: float
    text_pages: int
    notes: list[str] = field(default_factory=list)


def _headline_from_url(url: str) -> str:
    path = [p for p in urlparse(url).path.split("/") if p]
    slug = path[-1] if path else urlparse(url).netloc
    slug = re.sub(r"\.(html?|php|aspx?)$", "", slug)
    words = [w for w in re.split(r"[-_+]", slug) if w and not re.fullmatch(r"[0-9a-f]{6,}|\d+", w)]
    text = " ".join(words[:14]) or urlparse(url).netloc
    return text[:1].upper() + text[1:]


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def _read_page(path: Path) -> str:
    from trafilatura.utils import decode_file

    data = gzip.decompress(path.read_bytes())
    text = decode_file(data)
    return text if isinstance(text, str) else data.decode("utf-8", "replace")


def load_sources(text_pages: int = 400, progress: bool = True) -> Sources:
    """Articles (texts) and pages of the two collections; trafilatura extracts the texts of the
    first ``text_pages`` trafilatura-eval pages (sorted by URL)."""
    started = time.perf_counter()
    eval_dir = shared_dir() / "eval"
    aeb = eval_dir / "scrapinghub-aeb"
    articles: list[Article] = []
    pages: list[Page] = []
    truth = json.loads((aeb / "ground-truth.json").read_text(encoding="utf-8"))
    for key, item in sorted(truth.items()):
        headline = _headline_from_url(item.get("url", key))
        paras = _paragraphs(item.get("articleBody", ""))
        if sum(len(p.split()) for p in paras) >= 80:
            articles.append(Article("aeb:" + key[:12], "aeb", headline, "en", paras))
        page = aeb / "html" / f"{key}.html.gz"
        if page.exists():
            pages.append(Page("aeb:" + key[:12], headline, _read_page(page)))
    root = eval_dir / "trafilatura-eval" / "tests"
    data = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    import trafilatura

    extracted = 0
    for number, (url, item) in enumerate(sorted(data.items())):
        path = trafilatura_eval_page(root, item)
        if path is None:
            continue
        html = _read_page(path)
        headline = (item.get("title") or "").strip() or _headline_from_url(url)
        pages.append(Page("traf:" + item["file"], headline, html))
        if extracted < text_pages:
            extracted += 1
            text = trafilatura.extract(html, fast=True) or ""
            paras = _paragraphs(text)
            if sum(len(p.split()) for p in paras) >= 80:
                articles.append(Article("traf:" + item["file"], "traf", headline, None, paras))
        if progress and number % 200 == 0:
            print(f"  corpus: read {number} trafilatura-eval pages, {len(articles)} article texts", file=sys.stderr)
    return Sources(articles, pages, time.perf_counter() - started, extracted)


def _chunks(article: Article) -> list[list[str]]:
    """Consecutive paragraph groups of ~CHUNK_WORDS words."""
    out: list[list[str]] = []
    current: list[str] = []
    words = 0
    for paragraph in article.paragraphs:
        current.append(paragraph)
        words += len(paragraph.split())
        if words >= CHUNK_WORDS:
            out.append(current)
            current, words = [], 0
    if current:
        out.append(current)
    return out


class _TextPool:
    """Hands out paragraph chunks in order, article after article (shuffled by the seed); when
    every chunk was used, starts a new round in another order (texts are then re-combined)."""

    def __init__(self, articles: list[Article], rng: random.Random) -> None:
        self.rng = rng
        self.by_collection: dict[str, list[Article]] = {}
        for article in articles:
            self.by_collection.setdefault(article.collection, []).append(article)
        self.queues: dict[str, list[tuple[Article, list[str]]]] = {c: [] for c in self.by_collection}
        self.rounds: Counter[str] = Counter()

    def _refill(self, collection: str) -> None:
        order = list(self.by_collection[collection])
        self.rng.shuffle(order)
        self.rounds[collection] += 1
        queue = self.queues[collection]
        for article in order:
            chunks = _chunks(article)
            if self.rounds[collection] > 1 and len(chunks) > 1:  # later rounds: other chunk boundaries
                shift = self.rng.randrange(len(chunks))
                chunks = chunks[shift:] + chunks[:shift]
            queue.extend((article, c) for c in chunks)
        queue.reverse()  # pop() from the end = in order

    def take(self, collection: str, words: int) -> tuple[Article, list[str]]:
        """Paragraphs worth ``words`` words: the next chunks of the current article, then of the
        next one in the same collection. Returns the first article (headline, language)."""
        queue = self.queues[collection]
        paragraphs: list[str] = []
        first: Article | None = None
        count = 0
        while count < words:
            if not queue:
                self._refill(collection)
            article, chunk = queue.pop()
            first = first or article
            paragraphs.extend(chunk)
            count += sum(len(p.split()) for p in chunk)
        assert first is not None
        return first, paragraphs


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _fragment(paragraphs: list[str], rng: random.Random) -> str:
    parts = [f"<p>{_escape(p)}</p>" for p in paragraphs]
    if len(parts) > 2:
        parts.insert(1, '<figure><img src="x.jpg"><figcaption>Photo: Wire Staff / Agency</figcaption></figure>')
    if len(parts) > 4 and rng.random() < 0.5:
        parts.insert(
            len(parts) // 2, "<aside><h3>Read more</h3><ul><li><a href='/a'>Related story</a></li></ul></aside>"
        )
    if rng.random() < 0.3:
        parts.append('<script>window.embed && window.embed({"id": 42});</script>')
    return "\n".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ninjs(
    uri: str,
    version: int,
    headline: str,
    body: str,
    body_type: str,
    language: str | None,
    created: str,
    spelling: int,
    source: str,
) -> dict[str, object]:
    story: dict[str, object] = {"uri": uri, "version": str(version), "versioncreated": created}
    if language:
        story["language"] = language
    if spelling == 1:
        story["headline"] = headline
        story["body_html" if body_type == "text/html" else "body_text"] = body
        story["byline"] = f"{source} staff"
    else:
        story["headlines"] = [{"role": "main", "value": headline}]
        story["bodies"] = [{"role": "main", "contenttype": body_type, "value": body}]
        story["by"] = f"{source} staff"
    story["source"] = source
    story["urgency"] = 3
    return story


def _timestamp(index: int) -> str:
    seconds = 1_790_000_000 + index * 7
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _restyle(text: str, rng: random.Random) -> str:
    """The same words, other typography: quotes, dashes, line breaks (an exact copy after normalising)."""
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"').replace(" - ", " \u2013 ")
    return text.replace("\n\n", "\n\n\n") if rng.random() < 0.5 else text


def _edit(paragraphs: list[str], rng: random.Random, *, cut: bool, chrome: bool) -> list[str]:
    out = list(paragraphs)
    if out:
        i = rng.randrange(len(out))
        sentences = _SENTENCE_END.split(out[i])
        j = rng.randrange(len(sentences))
        words = sentences[j].split()
        if words:
            k = rng.randrange(len(words))
            words[k] = rng.choice(["reportedly", "also", str(rng.randint(2, 99)), words[k] + "s"])
        sentences[j] = " ".join(words)
        out[i] = " ".join(sentences)
    if cut and len(out) > 4:
        out = out[: max(4, int(len(out) * rng.uniform(0.85, 0.95)))]
    if chrome:
        out.insert(0, f"{rng.choice(['LONDON', 'BERLIN', 'PARIS', 'NEW YORK'])} (Wire) -")
        out.append(rng.choice(["Reporting by Anna Smith; Editing by Mark Jones", "Share this article"]))
    return out


@dataclass(slots=True)
class _Original:
    uri: str
    version: int
    headline: str
    paragraphs: list[str] | None  # None for a page
    body: str
    body_type: str
    language: str | None
    spelling: int
    source: str
    created_index: int


def _bad(kind: str, index: int, rng: random.Random) -> bytes:
    uri = f"urn:wirestream:bench:bad-{index}"
    if kind == "truncated-json":
        return orjson.dumps({"uri": uri, "headline": "Broken", "body_text": "Cut off " * 20})[: rng.randint(20, 80)]
    if kind == "not-an-object":
        return orjson.dumps([{"uri": uri}, "not a story"])
    if kind == "no-uri":
        return orjson.dumps({"headline": "A story without a uri", "body_text": "Text. " * 40})
    if kind == "invalid-utf8":
        return b'{"uri": "' + uri.encode() + b'", "headline": "Bad bytes", "body_text": "caf\xe9 \xff\xfe"}'
    return orjson.dumps(
        {"uri": uri, "headline": "Nothing left", "body_html": "<script>var x = 1;</script><style>p{}</style>"}
    )


def generate(n: int, seed: int, sources: Sources) -> list[Record]:
    """``n`` raw messages, deterministic from ``seed`` (and the data in ``shared/eval``)."""
    rng = random.Random(seed)
    pool = _TextPool(sources.articles, random.Random(seed + 1))
    pages = list(sources.pages)
    random.Random(seed + 2).shuffle(pages)
    page_cursor = 0
    collections = sorted(pool.by_collection)
    records: list[Record | None] = [None] * n
    kinds: list[str] = []
    n_bad = max(1, round(n * BAD_SHARE)) if n >= 20 else 0
    n_copies = round(n * COPY_SHARE)
    n_originals = n - n_bad - n_copies
    # Positions: a copy comes after its original; bad records anywhere.
    slots = ["o"] * n_originals + ["c"] * n_copies + ["b"] * n_bad
    rng.shuffle(slots)
    # Make sure the sequence starts with an original and copies never outnumber earlier originals.
    first_original = slots.index("o")
    slots[0], slots[first_original] = slots[first_original], slots[0]
    originals: list[_Original] = []
    latest_version: dict[str, int] = {}
    pending_stale: list[tuple[int, _Original]] = []
    for index, slot in enumerate(slots):
        if slot == "b":
            kind = BAD_KINDS[rng.randrange(len(BAD_KINDS))]
            records[index] = Record(_bad(kind, index, rng), "bad-" + kind, None)
            continue
        if slot == "c" and originals:
            records[index] = _copy(index, originals, latest_version, pending_stale, rng)
            continue
        body_kind = _pick(rng, BODY_KINDS)
        source = rng.choice(["Bench Wire", "Agence Banc", "Prüfstand Presse", "Syndicate News"])
        uri = f"urn:wirestream:bench:{seed}:{index}"
        spelling = rng.choice((1, 2))
        if body_kind == "page":
            page = pages[page_cursor % len(pages)]
            page_cursor += 1
            original = _Original(
                uri,
                1,
                page.headline,
                None,
                page.html,
                "text/html",
                "en" if page.key.startswith("aeb:") else None,
                spelling,
                source,
                index,
            )
            words = len(re.sub(r"<[^>]+>", " ", page.html).split())
        else:
            # Chunks overshoot the target by ~half a chunk: aim lower so the median lands on MEDIAN_WORDS.
            target = int(min(2500, max(120, rng.lognormvariate(math.log(MEDIAN_WORDS - CHUNK_WORDS * 0.6), 0.45))))
            collection = rng.choice(collections)
            article, paragraphs = pool.take(collection, target)
            if body_kind == "fragment":
                body, body_type = _fragment(paragraphs, rng), "text/html"
            else:
                body, body_type = "\n\n".join(paragraphs), "text/plain"
            original = _Original(
                uri, 1, article.headline, paragraphs, body, body_type, article.language, spelling, source, index
            )
            words = sum(len(p.split()) for p in paragraphs)
        originals.append(original)
        latest_version[uri] = 1
        payload = _ninjs(
            uri,
            1,
            original.headline,
            original.body,
            original.body_type,
            original.language,
            _timestamp(index),
            spelling,
            source,
        )
        records[index] = Record(orjson.dumps(payload), "original-" + body_kind, uri, words)
        kinds.append(body_kind)
    if any(r is None for r in records):  # pragma: no cover - a copy slot before any original
        raise RuntimeError("corpus: a copy had no original")
    return [r for r in records if r is not None]


def _copy(
    index: int,
    originals: list[_Original],
    latest: dict[str, int],
    pending_stale: list[tuple[int, _Original]],
    rng: random.Random,
) -> Record:
    kind = _pick(rng, COPY_KINDS)
    # Copies of recent stories, as on a wire (the last ~300 originals).
    original = originals[-1 - min(len(originals) - 1, int(rng.expovariate(1 / 80)))]
    if original.paragraphs is None and kind in ("near", "version", "stale"):
        kind = rng.choice(("resend", "syndicated"))
    if kind == "resend":
        payload = _ninjs(
            original.uri,
            latest[original.uri],
            original.headline,
            original.body,
            original.body_type,
            original.language,
            _timestamp(original.created_index),
            original.spelling,
            original.source,
        )
        return Record(orjson.dumps(payload), "resend", original.uri)
    if kind == "syndicated":
        body = _restyle(original.body, rng)
        uri = f"https://syndicate.example/{index}"
        payload = _ninjs(
            uri,
            1,
            original.headline,
            body,
            original.body_type,
            original.language,
            _timestamp(index),
            3 - original.spelling,
            "Syndicate News",
        )
        return Record(orjson.dumps(payload), "syndicated", uri)
    assert original.paragraphs is not None
    if kind == "near":
        paragraphs = _edit(original.paragraphs, rng, cut=rng.random() < 0.5, chrome=True)
        uri = f"https://copies.example/{index}"
        payload = _ninjs(
            uri,
            1,
            original.headline,
            "\n\n".join(paragraphs),
            "text/plain",
            original.language,
            _timestamp(index),
            3 - original.spelling,
            "Copies Daily",
        )
        return Record(orjson.dumps(payload), "near", uri, sum(len(p.split()) for p in paragraphs))
    # version / stale: a newer version of the story; for "stale", the newer one goes out now and
    # the story is then re-sent at its previous version (a stale copy) - here: the old version
    # again when the newest is already out.
    newest = latest[original.uri]
    if kind == "stale" and newest > 1:
        old = rng.randint(1, newest - 1)
        paragraphs = original.paragraphs
        payload = _ninjs(
            original.uri,
            old,
            original.headline,
            "\n\n".join(paragraphs),
            "text/plain",
            original.language,
            _timestamp(original.created_index),
            original.spelling,
            original.source,
        )
        return Record(orjson.dumps(payload), "stale", original.uri)
    version = newest + 1
    latest[original.uri] = version
    paragraphs = _edit(original.paragraphs, rng, cut=False, chrome=False)
    if rng.random() < 0.5:
        paragraphs = [*paragraphs, "This story has been updated with new information."]
    payload = _ninjs(
        original.uri,
        version,
        original.headline,
        "\n\n".join(paragraphs),
        "text/plain",
        original.language,
        _timestamp(index),
        original.spelling,
        original.source,
    )
    return Record(orjson.dumps(payload), "version", original.uri, sum(len(p.split()) for p in paragraphs))


def summary(records: list[Record]) -> dict[str, object]:
    """Counts by kind, word-count median and sizes: what the corpus is."""
    kinds = Counter(r.kind for r in records)
    words = [r.words for r in records if r.words]
    text_words = [r.words for r in records if r.kind in ("original-text", "original-fragment")]
    copies = sum(v for k, v in kinds.items() if not k.startswith(("original", "bad")))
    bad = sum(v for k, v in kinds.items() if k.startswith("bad"))
    sizes = [len(r.payload) for r in records]
    return {
        "records": len(records),
        "kinds": dict(sorted(kinds.items())),
        "copies_share": round(copies / max(1, len(records)), 3),
        "bad_share": round(bad / max(1, len(records)), 3),
        "median_words": statistics.median(words) if words else 0,
        "median_words_text_and_fragments": statistics.median(text_words) if text_words else 0,
        "median_payload_bytes": statistics.median(sizes) if sizes else 0,
        "total_mb": round(sum(sizes) / 1e6, 2),
    }


def build(n: int, seed: int, text_pages: int = 400, progress: bool = True) -> tuple[list[Record], dict[str, object]]:
    """Load the sources and generate; returns the records and their summary."""
    sources = load_sources(text_pages, progress)
    records = generate(n, seed, sources)
    info = summary(records)
    info.update(
        seed=seed,
        articles=len(sources.articles),
        pages=len(sources.pages),
        text_pages=sources.text_pages,
        load_seconds=round(sources.load_seconds, 1),
    )
    return records, info


def write_jsonl(records: list[Record], path: Path) -> None:
    """One payload a line (payloads never contain a raw newline: orjson escapes them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for record in records:
            out.write(record.payload.replace(b"\n", b" ") + b"\n")


def iter_payloads(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        for line in stream:
            line = line.rstrip(b"\n")
            if line:
                yield line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--text-pages", type=int, default=400, help="trafilatura-eval pages whose text is used")
    parser.add_argument("--out", type=Path, default=None, help="write the payloads here (JSON Lines)")
    args = parser.parse_args()
    records, info = build(args.n, args.seed, args.text_pages)
    print(json.dumps(info, indent=2, ensure_ascii=False))
    if args.out:
        write_jsonl(records, args.out)
        print(f"wrote {len(records)} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
