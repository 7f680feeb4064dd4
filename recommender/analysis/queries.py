"""The report's database queries: aggregates in SQL, so a long experiment stays cheap.

Counting rules (what makes the numbers trustworthy):
- only non-forced rows of the experiment, served inside the window (``served_at``);
- an impression is a distinct impression id with a ``served`` row;
- a click counts once per (impression, position), and only for a position that was served;
- a view counts once per impression;
- visitors with a burst of clicks or impressions in any one minute are left out entirely.

Visitors are the unit that was randomised, so the statistics need one row per visitor
(impressions, clicked impressions): that is grouped in SQL, and only those two numbers per
visitor reach Python, never the impressions themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    Integer,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from recommender.events.store import EventStore


@dataclass
class VisitorTotals:
    """Per visitor of one variant, in no particular order."""

    impressions: np.ndarray
    clicked: np.ndarray  # impressions with at least one click


@dataclass
class TeamWins:
    """Interleaving, per visitor with a clicked impression: impressions each team won."""

    teams: tuple[str, ...]
    wins: np.ndarray  # shape (visitors, len(teams))
    ties: np.ndarray  # impressions where the teams got equally many clicks


@dataclass
class Counts:
    impressions: dict[str, int] = field(default_factory=dict)
    views: dict[str, int] = field(default_factory=dict)
    clicked_impressions: dict[str, int] = field(default_factory=dict)
    clicks: dict[str, int] = field(default_factory=dict)
    # variant (or team when interleaving) -> position -> (impressions, clicks)
    by_position: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    per_visitor: dict[str, VisitorTotals] = field(default_factory=dict)
    team_wins: TeamWins | None = None
    excluded_visitors: int = 0

    @property
    def visitors(self) -> dict[str, int]:
        return {name: int(t.impressions.size) for name, t in self.per_visitor.items()}


class _Scope:
    """The experiment's rows, the window, the bot filter, and the served/clicked joins."""

    def __init__(self, store: EventStore, experiment: str, since: float | None,
                 until: float | None) -> None:
        self.store, self.experiment, self.since, self.until = store, experiment, since, until
        e = store.events
        self.s, self.c = e.alias("s"), e.alias("c")
        self.clicked_join = and_(self.c.c.type == "clicked",
                                 self.c.c.impression_id == self.s.c.impression_id,
                                 self.c.c.position == self.s.c.position)
        self.bots: set[str] = set()

    def rows(self, t: Any) -> list[Any]:
        conds = [t.c.experiment == self.experiment, t.c.forced == false()]
        if self.since is not None:
            conds.append(t.c.served_at >= self.since)
        if self.until is not None:
            conds.append(t.c.served_at < self.until)
        return conds

    def served(self) -> list[Any]:
        s = self.s
        conds = [s.c.type == "served", *self.rows(s)]
        if self.bots:
            conds.append(or_(s.c.visitor.is_(None), s.c.visitor.not_in(sorted(self.bots))))
        return conds

    def minute(self, col: Any) -> Any:
        # PostgreSQL's float-to-int cast rounds; SQLite's truncates (= floor for epoch times).
        if self.store.engine.dialect.name == "sqlite":
            return cast(col / 60, Integer)
        return func.floor(col / 60)

    def served_clicks(self) -> Any:
        """Distinct (impression, position) clicks joined to what was served there."""
        s = self.s
        return (select(s.c.variant, s.c.team, s.c.visitor, s.c.impression_id, s.c.position)
                .select_from(s.join(self.c, self.clicked_join)).where(*self.served())
                .distinct().subquery())


def _bots(conn: Connection, q: _Scope, max_clicks: int, max_impressions: int) -> set[str]:
    s, c = q.s, q.c
    bursts = []
    base = [s.c.type == "served", s.c.visitor.is_not(None), *q.rows(s)]
    if max_clicks > 0:
        bursts.append(select(s.c.visitor).select_from(s.join(c, q.clicked_join)).where(*base)
                      .group_by(s.c.visitor, q.minute(c.c.received_at))
                      .having(func.count() > max_clicks))
    if max_impressions > 0:
        bursts.append(select(s.c.visitor).where(*base)
                      .group_by(s.c.visitor, q.minute(s.c.served_at))
                      .having(func.count(distinct(s.c.impression_id)) > max_impressions))
    return {row[0] for query in bursts for row in conn.execute(query)}


def _per_visitor(conn: Connection, q: _Scope, out: Counts) -> None:
    s, c = q.s, q.c
    # One pass over served rows, left-joined to their clicks: joining two grouped subqueries
    # instead makes PostgreSQL nested-loop over visitors x visitors.
    clicked_imp = case((c.c.impression_id.is_not(None), s.c.impression_id))
    query = (select(s.c.variant, func.count(distinct(s.c.impression_id)),
                    func.count(distinct(clicked_imp)))
             .select_from(s.outerjoin(c, q.clicked_join)).where(*q.served())
             # A visitor-less impression (should be forced, hence out already) forms one
             # cluster of its own under the NULL visitor: counted, never silently dropped.
             .group_by(s.c.variant, s.c.visitor))
    rows: dict[str, list[tuple[int, int]]] = {}
    for variant, n, k in conn.execute(query):
        rows.setdefault(variant, []).append((n, k))
    for variant, pairs in rows.items():
        arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        out.per_visitor[variant] = VisitorTotals(arr[:, 0], arr[:, 1])
        out.impressions[variant] = int(arr[:, 0].sum())
        out.clicked_impressions[variant] = int(arr[:, 1].sum())


def _views_and_clicks(conn: Connection, q: _Scope, clicks: Any, out: Counts) -> None:
    s, c = q.s, q.c
    for variant, n in conn.execute(select(clicks.c.variant, func.count())
                                   .group_by(clicks.c.variant)):
        out.clicks[variant] = n
    viewed = and_(c.c.type == "viewed", c.c.impression_id == s.c.impression_id)
    for variant, n in conn.execute(
            select(s.c.variant, func.count(distinct(s.c.impression_id)))
            .select_from(s.join(c, viewed)).where(*q.served()).group_by(s.c.variant)):
        out.views[variant] = n


def _by_position(conn: Connection, q: _Scope, clicks: Any, out: Counts) -> None:
    s = q.s
    # Per variant, or per team for an interleaved list.
    key = func.coalesce(s.c.team, s.c.variant)
    for name, pos, n in conn.execute(
            select(key, s.c.position, func.count(distinct(s.c.impression_id)))
            .where(*q.served(), s.c.position.is_not(None)).group_by(key, s.c.position)):
        out.by_position.setdefault(name, {})[pos] = [n, 0]
    ckey = func.coalesce(clicks.c.team, clicks.c.variant)
    for name, pos, n in conn.execute(select(ckey, clicks.c.position, func.count())
                                     .group_by(ckey, clicks.c.position)):
        out.by_position.setdefault(name, {}).setdefault(pos, [0, 0])[1] = n


def _team_wins(conn: Connection, q: _Scope, clicks: Any) -> TeamWins | None:
    teams = tuple(sorted(t for (t,) in conn.execute(
        select(clicks.c.team).where(clicks.c.team.is_not(None)).distinct())))
    if not teams:
        return None
    per_team = [func.sum(case((clicks.c.team == t, 1), else_=0)).label(f"t{i}")
                for i, t in enumerate(teams)]
    imp = (select(clicks.c.visitor, *per_team).where(clicks.c.team.is_not(None))
           .group_by(clicks.c.visitor, clicks.c.impression_id).subquery())
    cols = [imp.c[f"t{i}"] for i in range(len(teams))]
    won: list[ColumnElement[Any]]
    tie: ColumnElement[Any]
    if len(cols) == 1:  # only one team got clicks: each of its impressions is a win
        won, tie = [func.count()], literal(0)
    else:
        won = [func.sum(case((and_(*[col > o for o in cols if o is not col]), 1), else_=0))
               for col in cols]
        tie = func.sum(case((and_(*[cols[0] == o for o in cols[1:]]), 1), else_=0))
    rows = conn.execute(select(*won, tie).group_by(imp.c.visitor)).all()
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, len(teams) + 1)
    return TeamWins(teams, arr[:, :-1], arr[:, -1])


def fetch_counts(store: EventStore, experiment: str, since: float | None, until: float | None,
                 *, max_clicks_per_minute: int = 0,
                 max_impressions_per_minute: int = 0) -> Counts:
    store.migrate()
    q = _Scope(store, experiment, since, until)
    with store.engine.connect() as conn:
        q.bots = _bots(conn, q, max_clicks_per_minute, max_impressions_per_minute)
        out = Counts(excluded_visitors=len(q.bots))
        clicks = q.served_clicks()
        _per_visitor(conn, q, out)
        _views_and_clicks(conn, q, clicks, out)
        _by_position(conn, q, clicks, out)
        out.team_wins = _team_wins(conn, q, clicks)
    return out
