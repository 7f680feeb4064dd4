"""The config file as the build stage reads it: every table and key checked before any work.

One TOML file holds several layers' tables; ``KNOWN_TABLES`` names them all, so a misspelled
table (``[vectorise]``) is an error instead of silently leaving defaults in place. Every
message starts with the file's path and names the table and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommender.index import DEFAULT_METHOD, METHODS
from recommender.index.defaults import DEFAULT_BUDGET, DEFAULT_CANDIDATES
from recommender.policy import PolicyError, load_policies
from recommender.settings import BY_NAME as SERVICE_SETTINGS
from recommender.vectorize import ArticleVectorizer, VectorizerError

DEFAULT_TOP_K = 50
# Every top-level table any layer reads from the config file, and who reads it.
KNOWN_TABLES = {
    "service": "service settings (recommender/settings.py)",
    "vectorizer": "training: the TF-IDF vectorizer",
    "index": "training: stored candidates and their affinity",
    "policies": "ranking policies, [policies.NAME] (recommender/policy)",
    "retrain": "evaluate and retrain defaults, [retrain.gates]",
}
VECTORIZER_KEYS = ("field_weights", "sublinear_tf", "stop_words", "ngram_range", "min_df",
                   "max_df", "max_features", "strip_accents", "languages")
INDEX_KEYS = ("top_k", "max_block_cells", "neighbourhood", "neighbourhood_weight",
              "hub_penalty", "method", "pruned_budget", "pruned_candidates")
RETRAIN_KEYS = ("labels_from", "pairs", "k", "policy", "min_group_size", "keep", "gates")

# Every gate, its default, and what it guards against. A bound of None switches a gate off.
DEFAULT_GATES: dict[str, float | None] = {
    # Label precision@k (needs labels or pairs) may fall at most this much below the
    # published model's, measured on the same ground truth.
    "max_precision_drop": 0.01,
    "max_ndcg_drop": 0.02,
    # Absolute floor on label precision@k; None = no floor.
    "min_precision": None,
    # Share of published articles shown in at least one list.
    "min_coverage": 0.5,
    "max_coverage_drop": 0.05,
    # Share of lists the policy had to fill from fallback, against the published model.
    "max_fallback_increase": 0.1,
    # overlap@k with the published model; a floor catches a model that changes everything.
    "min_overlap": None,
    # A corpus export that lost articles: the new corpus may be at most this share smaller.
    "max_article_drop": 0.2,
}


class ConfigError(ValueError):
    """A config table or key that cannot be used; the message names file, table and key."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _table(config_data: Mapping[str, Any], name: str, source: str) -> dict[str, Any]:
    table = config_data.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return dict(table)


def _unknown_keys(table: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where} has unknown key {key!r} (known: {', '.join(known)})")


def check_tables(config_data: Mapping[str, Any], source: str = "config") -> None:
    """Unknown top-level tables, and the tables training does not use itself ([service],
    [policies], [retrain]), so a typo anywhere in the file stops a run before any work."""
    for name in config_data:
        if name not in KNOWN_TABLES:
            raise ConfigError(f"{source}: unknown table [{name}] "
                              f"(known: {', '.join(f'[{t}]' for t in KNOWN_TABLES)})")
    for key, value in _table(config_data, "service", source).items():
        setting = SERVICE_SETTINGS.get(str(key).upper())
        if setting is None:
            raise ConfigError(f"{source}: [service] has unknown setting {key!r}")
        try:
            setting.parse(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: [service] {key}: {exc}") from None
    try:
        load_policies(config_data)
    except PolicyError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    retrain_options(config_data, source)


def _df(value: Any) -> bool:
    return value == "auto" or (_is_int(value) and value >= 1) or (
        isinstance(value, float) and 0.0 < value <= 1.0)


def vectorizer_params(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """The ``[vectorizer]`` table, every value checked (not only when fitting)."""
    vec = _table(config_data, "vectorizer", source)
    where = f"{source}: [vectorizer]"
    _unknown_keys(vec, VECTORIZER_KEYS, where)
    for key in ("min_df", "max_df"):
        if key in vec and not _df(vec[key]):
            raise ConfigError(f"{where} {key}: must be \"auto\", a whole number of articles "
                              f">= 1 or a share above 0 and at most 1.0, got {vec[key]!r}")
    if "max_features" in vec and not (_is_int(vec["max_features"]) and vec["max_features"] > 0):
        raise ConfigError(f"{where} max_features: must be an integer >= 1, "
                          f"got {vec['max_features']!r}")
    if "sublinear_tf" in vec and not isinstance(vec["sublinear_tf"], bool):
        raise ConfigError(f"{where} sublinear_tf: must be true or false")
    if vec.get("strip_accents", "unicode") not in ("unicode", "ascii"):
        raise ConfigError(f"{where} strip_accents: must be \"unicode\" or \"ascii\"")
    ngrams = vec.get("ngram_range", [1, 2])
    if not (isinstance(ngrams, list) and len(ngrams) == 2 and all(map(_is_int, ngrams))):
        raise ConfigError(f"{where} ngram_range: must be [min, max], two integers")
    words = vec.get("stop_words", "english")
    if words != "english" and not (isinstance(words, list)
                                   and all(isinstance(w, str) for w in words)):
        raise ConfigError(f"{where} stop_words: must be \"english\" or a list of words")
    weights = vec.get("field_weights", {})
    if not isinstance(weights, Mapping):
        raise ConfigError(f"{where} field_weights: must be a table of field = weight")
    try:
        ArticleVectorizer(**vec).validate()
    except VectorizerError as exc:
        raise ConfigError(f"{where} {exc}") from None
    return vec


def index_params(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """The ``[index]`` table with its defaults filled in."""
    idx = _table(config_data, "index", source)
    where = f"{source}: [index]"
    _unknown_keys(idx, INDEX_KEYS, where)
    top_k = idx.get("top_k", DEFAULT_TOP_K)
    if not _is_int(top_k) or not 1 <= top_k <= 1000:
        raise ConfigError(f"{where} top_k must be an integer from 1 to 1000")
    cells = idx.get("max_block_cells", 8_000_000)
    if not _is_int(cells) or cells < 1000:
        raise ConfigError(f"{where} max_block_cells must be an integer >= 1000")
    size = idx.get("neighbourhood", min(20, top_k))
    if not _is_int(size) or not 0 <= size <= top_k:
        raise ConfigError(f"{where} neighbourhood must be an integer from 0 (off) "
                          f"to top_k ({top_k})")
    out: dict[str, Any] = {"top_k": top_k, "max_block_cells": cells, "neighbourhood": size}
    for key, default in (("neighbourhood_weight", 1.0), ("hub_penalty", 0.5)):
        value = idx.get(key, default)
        if not _is_number(value) or not 0 <= value <= 10:
            raise ConfigError(f"{where} {key} must be a number from 0 to 10")
        out[key] = float(value)
    method = idx.get("method", DEFAULT_METHOD)
    if method not in METHODS:
        raise ConfigError(f"{where} method must be one of {', '.join(METHODS)}, got {method!r}")
    out["method"] = method
    budget = idx.get("pruned_budget", DEFAULT_BUDGET)
    if not _is_number(budget) or not 1000 <= budget <= 1e9:
        raise ConfigError(f"{where} pruned_budget must be a number from 1000 to 1e9 "
                          f"(multiply-adds per article), got {budget!r}")
    out["pruned_budget"] = float(budget)
    n_cand = idx.get("pruned_candidates", DEFAULT_CANDIDATES)
    if not _is_int(n_cand) or not top_k <= n_cand <= 100_000:
        raise ConfigError(f"{where} pruned_candidates must be an integer from top_k "
                          f"({top_k}) to 100000, got {n_cand!r}")
    out["pruned_candidates"] = n_cand
    return out


def train_params(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate the whole file, then return the ``[vectorizer]`` and ``[index]`` params."""
    check_tables(config_data, source)
    return {"vectorizer": vectorizer_params(config_data, source),
            "index": index_params(config_data, source)}


def _gates(table: Mapping[str, Any], source: str) -> dict[str, float | None]:
    gates = dict(DEFAULT_GATES)
    raw = table.get("gates", {})
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: [retrain.gates] must be a table")
    for key, value in raw.items():
        if key not in DEFAULT_GATES:
            raise ConfigError(f"{source}: [retrain.gates] has unknown gate {key!r} "
                              f"(known: {', '.join(DEFAULT_GATES)})")
        if value is False:
            gates[key] = None  # `gate = false` switches it off
        elif not _is_number(value) or value < 0:
            raise ConfigError(f"{source}: [retrain.gates] {key}: must be a number >= 0 "
                              f"or false, got {value!r}")
        else:
            gates[key] = float(value)
    return gates


def retrain_options(config_data: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """The ``[retrain]`` table and its ``[retrain.gates]`` sub-table, defaults filled in."""
    table = _table(config_data, "retrain", source)
    _unknown_keys(table, RETRAIN_KEYS, f"{source}: [retrain]")
    out = {k: v for k, v in table.items() if k != "gates"}
    for key in ("k", "min_group_size", "keep"):
        value = out.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise ConfigError(f"{source}: [retrain] {key}: must be an integer >= 1, "
                              f"got {value!r}")
    for key in ("labels_from", "pairs", "policy"):
        value = out.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{source}: [retrain] {key}: must be a non-empty string")
    out["gates"] = _gates(table, source)
    return out
