"""Service settings, declared once and read from one place.

Order of precedence (later wins): defaults, the TOML file's ``[service]`` table,
``RECOMMENDER_*`` environment variables, then a mapping passed by the caller (tests).
Nothing here is read at import time.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "RECOMMENDER_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


def _list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _int(value: Any) -> int:
    # TOML gives ints, the environment gives text; a float or a bool is a mistake in both.
    if isinstance(value, bool | float):
        raise ValueError(f"must be a whole number, got {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a whole number, got {value!r}") from None


def _positive_int(value: Any) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError(f"must be at least 1, got {number}")
    return number


def _non_negative_int(value: Any) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {number}")
    return number


def _non_negative_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r}")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"must be a number, got {value!r}") from None
    if not number >= 0:  # also refuses nan
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {value!r}")
    return value


def _path(value: Any) -> str:
    return os.fspath(value) if isinstance(value, os.PathLike) else _text(value)


def _log_level(value: Any) -> str:
    text = _text(value).strip().upper()
    if text not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return text


def _optional_path(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return _path(value)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

SETTINGS: tuple[Setting, ...] = (
    Setting("MODELS_DIR", "models", _path,
            "Directory holding model versions and the CURRENT pointer."),
    Setting("CONFIG", None, _optional_path, "Path to a TOML config file (tables [service], "
            "[vectorizer], [index], [policies.NAME])."),
    Setting("DEFAULT_LIMIT", 5, _positive_int, "Related items returned when `limit` is not given."),
    Setting("MAX_LIMIT", 50, _positive_int, "Largest `limit` a caller may ask for."),
    Setting("MAX_TEXT_CHARS", 100_000, _positive_int,
            "Longest `title` + `body` accepted by POST /v1/related, in characters."),
    Setting("MAX_CONTENT_LENGTH", 1_000_000, _positive_int,
            "Largest request body in bytes; larger requests get 413."),
    Setting("CACHE_MAX_AGE", 300, _non_negative_int,
            "Cache-Control max-age (seconds) on related lists."),
    # Any origin by default: the widget is embedded on the site's own domain, which is
    # rarely the service's, and everything served is public article metadata.
    Setting("CORS_ORIGINS", ["*"], _list,
            "Comma-separated origins allowed to call the API from a browser; `*` allows any; "
            "empty allows none."),
    Setting("RELOAD_INTERVAL", 2.0, _non_negative_float,
            "Seconds between checks of the published-model pointer; 0 checks on every request."),
    Setting("KEEP_VERSIONS", 5, _positive_int,
            "Model versions kept on disk after training or rollback; the published one is "
            "never pruned."),
    Setting("LOG_LEVEL", "INFO", _log_level, "Python logging level for the service."),
    # A/B tests (recommender/experiments, recommender/events): see README "A/B tests".
    Setting("EXPERIMENTS_FILE", None, _optional_path,
            "TOML file declaring A/B experiments; re-read when it changes. Unset: no experiment."),
    Setting("EXPERIMENTS_STATE", None, _optional_path,
            "JSON record of each experiment's weights per salt (default: "
            "MODELS_DIR/experiments-state.json)."),
    Setting("EVENTS_URL", None, _optional_path,
            "SQLAlchemy URL for impression/click events (default: SQLite file "
            "MODELS_DIR/events.sqlite3; postgresql://... for several replicas)."),
    Setting("EVENTS_BUFFER", 50_000, _positive_int,
            "Events held in memory while the database is slow or down; beyond this they are "
            "dropped and counted."),
    Setting("EVENTS_SPILL_DIR", None, _optional_path,
            "Directory where events still unwritten at shutdown (database down) are kept as "
            "JSON Lines and written at the next start (default: MODELS_DIR/events-spill)."),
    Setting("EVENTS_BATCH", 500, _positive_int, "Events written per database transaction."),
    Setting("EVENTS_FLUSH_INTERVAL", 1.0, _non_negative_float,
            "Seconds the background writer waits before writing a partial batch."),
    Setting("EVENTS_MAX_BATCH", 100, _positive_int,
            "Most events accepted in one POST /v1/events; larger batches get 413."),
    Setting("IMPRESSION_SECRET", None, _optional_path,
            "Key signing impression ids (set the same value on every replica; default: a "
            "random key kept in MODELS_DIR/.impression-secret)."),
    Setting("IMPRESSION_SECRET_PREVIOUS", None, _optional_path,
            "The key used before IMPRESSION_SECRET, still accepted when verifying (set it "
            "while rotating the secret, for IMPRESSION_MAX_AGE seconds)."),
    Setting("IMPRESSION_MAX_AGE", 172_800, _positive_int,
            "Seconds after serving during which events for an impression are accepted."),
    Setting("ADMIN_TOKEN", None, _optional_path,
            "Bearer token for the admin endpoints (POST /v1/admin/reload, event status "
            "details); unset: those endpoints answer 404."),
    # Ranking policy (recommender/policy): see README "Ranking policy".
    Setting("POLICY", "default", _text,
            "Ranking policy (a [policies.NAME] table) serving requests outside experiments."),
    Setting("OVERRIDES_FILE", None, _optional_path,
            "JSON or TOML file of editorial pins, blocks and boosts; re-read when it changes."),
    Setting("RESULT_CACHE_SIZE", 4096, _non_negative_int,
            "Ranked related lists each worker keeps (LRU; 0: none), keyed by model, policy, "
            "overrides, article and ranking parameters."),
    Setting("RESULT_CACHE_SECONDS", 300.0, _non_negative_float,
            "Longest a cached related list is reused (ranking reads the clock: recency, "
            "scheduled articles); 0: no cache. The default is CACHE_MAX_AGE's."),
    # Freshness between retrains (recommender/fresh): see README "Freshness".
    Setting("ADMIN_TOKEN", None, _optional_path,
            "Bearer token for the admin endpoints (PUT/POST/DELETE /v1/articles); unset: they "
            "answer 404."),
    Setting("FRESH_MAX_BATCH", 1000, _positive_int,
            "Most articles accepted in one POST /v1/articles; larger batches get 413."),
    Setting("FRESH_RETRAIN_ARTICLES", 5000, _positive_int,
            "Articles folded in since the last full training at which a retrain is due."),
    Setting("FRESH_RETRAIN_MISSING_SHARE", 0.25, _non_negative_float,
            "Share of folded-in articles' terms missing from the vocabulary at which a "
            "retrain is due."),
)

BY_NAME = {s.name: s for s in SETTINGS}


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML config file, turning every failure into a message naming the file."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{p}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{p}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{p}: cannot read the config file: {exc}") from None


def _parse(name: str, value: Any, origin: str) -> Any:
    setting = BY_NAME[name]
    try:
        return setting.parse(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{origin}: {exc}") from None


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key.upper(), BY_NAME, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(BY_NAME)}"
    return f"unknown setting {key!r} ({hint})"


def _from_file(path: str, data: Mapping[str, Any]) -> dict[str, Any]:
    # Other tables belong to training, policies and retraining, which check their own; a
    # misspelt [service] would otherwise leave every setting at its default without a word.
    for name in data:
        if name != "service" and difflib.get_close_matches(name, ["service"], cutoff=0.8):
            raise SettingsError(f"{path}: unknown table [{name}] (did you mean [service]?)")
    table = data.get("service", {})
    if not isinstance(table, Mapping):
        raise SettingsError(f"{path}: [service] must be a table of settings")
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.upper()
        if name not in BY_NAME:
            raise SettingsError(f"{path}: [service] {_unknown(key)}")
        values[name] = _parse(name, value, f"{path}: [service] {key}")
    return values


def load_settings(
    mapping: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Resolve every setting; unknown keys in the file or mapping are errors, not ignored.

    Every SettingsError is one line naming where the value came from (the file and its
    ``[service]`` key, or the environment variable) and what is wrong with it.
    """
    environ = os.environ if environ is None else environ
    mapping = dict(mapping or {})
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}

    config_path = mapping.get("CONFIG") or environ.get(ENV_PREFIX + "CONFIG")
    file_data: dict[str, Any] = {}
    if config_path:
        file_data = read_toml(config_path)
        values.update(_from_file(str(config_path), file_data))

    for setting in SETTINGS:
        env_name = ENV_PREFIX + setting.name
        if env_name in environ:
            values[setting.name] = _parse(setting.name, environ[env_name],
                                          f"environment variable {env_name}")

    extras: dict[str, Any] = {}
    for key, value in mapping.items():
        if key in BY_NAME:
            values[key] = _parse(key, value, f"config mapping {key}")
        else:
            # Flask's own keys (TESTING, ...) pass through untouched.
            extras[key] = value
    values.update(extras)
    values["CONFIG_DATA"] = file_data
    return values
