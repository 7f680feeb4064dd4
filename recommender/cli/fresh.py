"""``recommender upsert``, ``remove`` and ``status``: freshness between retrains.

Registered on the main group in ``recommender/cli/__init__.py``, like every command.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import click

from recommender.artefact.model import declared_language, freshness
from recommender.artefact.store import ModelStore, ModelStoreError
from recommender.cli.common import config_option, echo_err, models_option, option
from recommender.cli.corpus_options import corpus_source_options
from recommender.corpus import CorpusError, CorpusSource, read_corpus
from recommender.fresh import ApplyResult, FreshError, apply_changes, retrain_due
from recommender.fresh import journal as fresh_journal
from recommender.settings import SettingsError, load_settings


def _report(result: ApplyResult) -> None:
    for word, ids in (("upserted", result.upserted), ("removed", result.removed),
                      ("unchanged", result.unchanged)):
        if ids:
            echo_err(f"{word} {len(ids)}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}")
    if result.version == result.parent:
        echo_err(f"nothing changed; {result.version} stays published")
    else:
        echo_err(f"published {result.version} ({result.bytes_written} bytes written, "
                 f"{result.seconds:.2f} s)")
    click.echo(result.version)


@click.command("upsert")
@corpus_source_options
@option("corpus", required=True,
        help="New or changed articles, in any corpus format `train` reads.")
@models_option
def upsert_cmd(corpus: CorpusSource, models_dir: str) -> None:
    """Fold new or changed articles into the published model (published when this returns)."""
    store = ModelStore(models_dir)
    try:
        read = read_corpus(_with_declared_language(corpus, store))
        result = apply_changes(store, {a.id: a for a in read.articles})
    except (CorpusError, FreshError) as exc:
        raise click.ClickException(str(exc)) from None
    _report(result)


def _with_declared_language(corpus: CorpusSource, store: ModelStore) -> CorpusSource:
    """Without ``--language``, the one the published model's corpus declared (if any), as
    the article endpoints apply it."""
    version = store.published()
    if corpus.language is not None or version is None:
        return corpus
    try:
        declared = declared_language(store.read_manifest(version))
    except ModelStoreError:
        return corpus  # apply_changes reports what is wrong with the published model
    return replace(corpus, language=declared) if declared else corpus


@click.command("remove")
@click.argument("ids", nargs=-1, required=True)
@models_option
def remove_cmd(ids: tuple[str, ...], models_dir: str) -> None:
    """Take articles out of every related list at once (published when this returns)."""
    try:
        result = apply_changes(ModelStore(models_dir), dict.fromkeys(i.strip() for i in ids))
    except FreshError as exc:
        raise click.ClickException(str(exc)) from None
    if result.missing:
        echo_err(f"not in the published model: {', '.join(result.missing)}")
    if not result.removed:
        raise click.ClickException("no article removed")
    _report(result)


def status_data(models_dir: str, settings: dict[str, Any]) -> dict[str, Any]:
    store = ModelStore(models_dir)
    version = store.published()
    if version is None:
        raise click.ClickException(f"no model published in {models_dir}")
    try:
        manifest = store.read_manifest(version)
    except ModelStoreError as exc:
        raise click.ClickException(str(exc)) from None
    found = freshness(manifest)
    verdict = retrain_due(found, max_folded=settings["FRESH_RETRAIN_ARTICLES"],
                          max_missing_share=settings["FRESH_RETRAIN_MISSING_SHARE"])
    return {"published": version, "created_at": manifest.get("created_at"),
            "articles": manifest.get("article_count"), **found, **verdict,
            "journal_entries": len(fresh_journal.entries(store.root))}


@click.command("status")
@models_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(models_dir: str, config_path: str | None, as_json: bool) -> None:
    """The published model, what was folded in since the last full training, and whether a
    full retrain is due."""
    try:
        settings = load_settings({"CONFIG": config_path} if config_path else None)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    data = status_data(models_dir, settings)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"published: {data['published']} ({data['articles']} articles)")
    click.echo(f"base (last full training): {data['base']}; {data['deltas']} deltas on top")
    click.echo(f"folded in since: {data['folded_in']} upserted, {data['removed']} removed; "
               f"{data['missing_share']:.1%} of their terms not in the vocabulary")
    click.echo(f"journal: {data['journal_entries']} entries")
    if data["retrain_due"]:
        click.echo("full retrain due: " + "; ".join(data["reasons"]))
    else:
        click.echo("full retrain not due yet")
