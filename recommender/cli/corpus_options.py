"""``--format``, ``--post-types``, ``--query``, ``--map`` and ``--language``: how to read
``--corpus``.

One decorator for every command that reads a corpus (train, retrain, evaluate, upsert). It
turns the command's ``corpus`` value into a ``CorpusSource`` that ``read_corpus`` takes as
is, and widens ``--corpus`` to folders and database URLs. Place it right under the
``@command`` line, above the command's own ``--corpus`` option.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from recommender.corpus import CorpusSource, parse_mapping
from recommender.corpus.language import normalise_language
from recommender.corpus.readers import READERS

CORPUS_HELP = ("Articles: JSON Lines, CSV, a WordPress export (.xml), a file or folder of "
               "WordPress REST API responses, a folder of saved HTML pages, or a database URL "
               "(with --query).")


def _post_types(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    types = tuple(t.strip() for t in value.split(",") if t.strip())
    if not types:
        raise click.BadParameter("name at least one post type, e.g. post,page",
                                 param_hint="--post-types")
    return types


def _language(value: str | None) -> str | None:
    if not value:
        return None
    code = normalise_language(value)
    if code is None:
        raise click.BadParameter(f"{value!r} is not a language code (e.g. 'en' or 'pt-BR')",
                                 param_hint="--language")
    return code


def _widen_corpus_option(f: Any) -> None:
    # The command declares --corpus itself (required or not, its envvar); a folder or a URL
    # must get through, so a Path(dir_okay=False) type becomes plain text.
    for param in getattr(f, "__click_params__", []):
        if param.name == "corpus":
            param.type = click.STRING
            param.help = CORPUS_HELP if param.required else param.help


def corpus_source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the corpus-reading options; the command receives ``corpus`` as a CorpusSource."""

    @functools.wraps(f)
    def wrapper(*args: Any, corpus_format: str | None, post_types: str | None,
                query: str | None, field_map: tuple[str, ...], corpus_language: str | None,
                **kwargs: Any) -> Any:
        corpus = kwargs.get("corpus")
        if corpus is not None:
            try:
                mapping = parse_mapping(field_map)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--map") from None
            kwargs["corpus"] = CorpusSource(corpus, fmt=corpus_format,
                                            post_types=_post_types(post_types),
                                            query=query, mapping=mapping,
                                            language=_language(corpus_language))
        elif corpus_format or post_types or query or field_map or corpus_language:
            raise click.UsageError("--format, --post-types, --query, --map and --language "
                                   "need --corpus")
        return f(*args, **kwargs)

    _widen_corpus_option(f)
    options = [
        click.option("--format", "corpus_format", envvar="RECOMMENDER_CORPUS_FORMAT",
                     default=None, type=click.Choice(sorted(READERS)),
                     help="Corpus format (default: detected from the content)."),
        click.option("--post-types", envvar="RECOMMENDER_POST_TYPES", default=None,
                     metavar="TYPES", help="WordPress post types to import, comma-separated "
                     "(default: post)."),
        click.option("--query", envvar="RECOMMENDER_CORPUS_QUERY", default=None,
                     metavar="SQL", help="For a database URL: the SELECT that returns the "
                     "articles (columns named like corpus fields, or renamed with --map)."),
        click.option("--map", "field_map", multiple=True, metavar="FIELD=COLUMN",
                     help="Read corpus FIELD from COLUMN (repeatable), e.g. title=post_title."),
        click.option("--language", "corpus_language", envvar="RECOMMENDER_CORPUS_LANGUAGE",
                     default=None, metavar="CODE", help="The language of every article that "
                     "names none, e.g. en (default: detected per article)."),
    ]
    for option in options:
        wrapper = option(wrapper)
    return wrapper
