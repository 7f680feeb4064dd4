"""The report's database queries: aggregates in SQL, so a long experiment stays cheap.

Counting rules (what makes the numbers trustworthy):
- only non-forced rows of the experiment, served inside the window (``served_at``);
- an impression is a distinct impression id with a ``served`` row;
- a click counts once per (impression, position), and only for a position that was served;
- a view counts once per impression;
- visitors with a burst of clicks or impressions in any one minute are left out entirely.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, and_, cast, distinct, false, func, or_, select

from recommender.events.store import EventStore


@dataclass
class Counts:
    impressions: dict[str, int] = field(default_factory=dict)
    views: dict[str, int] = field(default_factory=dict)
    clicked_impressions: dict[str, int] = field(default_factory=dict)
    clicks: dict[str, int] = field(default_factory=dict)
    # variant (or team when interleaving) -> position -> (impressions, clicks)
    by_position: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    # interleaving: impression -> team -> clicks
    team_clicks: dict[str, dict[str, int]] = field(default_factory=dict)
    excluded_visitors: int = 0


def fetch_counts(store: EventStore, experiment: str, since: float | None, until: float | None,
                 *, max_clicks_per_minute: int = 0,
                 max_impressions_per_minute: int = 0) -> Counts:
    store.migrate()
    e = store.events
    s = e.alias("s")
    c = e.alias("c")

    def scope(t: Any) -> list[Any]:
        conds = [t.c.experiment == experiment, t.c.forced == false()]
        if since is not None:
            conds.append(t.c.served_at >= since)
        if until is not None:
            conds.append(t.c.served_at < until)
        return conds

    def minute(col: Any) -> Any:
        # PostgreSQL's float-to-int cast rounds; SQLite's truncates (= floor for epoch times).
        if store.engine.dialect.name == "sqlite":
            return cast(col / 60, Integer)
        return func.floor(col / 60)

    clicked_join = and_(c.c.type == "clicked", c.c.impression_id == s.c.impression_id,
                        c.c.position == s.c.position)
    bursts = []
    if max_clicks_per_minute > 0:
        bursts.append(select(s.c.visitor).select_from(s.join(c, clicked_join))
                      .where(s.c.type == "served", s.c.visitor.is_not(None), *scope(s))
                      .group_by(s.c.visitor, minute(c.c.received_at))
                      .having(func.count() > max_clicks_per_minute))
    if max_impressions_per_minute > 0:
        bursts.append(select(s.c.visitor).where(s.c.type == "served", s.c.visitor.is_not(None),
                                                *scope(s))
                      .group_by(s.c.visitor, minute(s.c.served_at))
                      .having(func.count(distinct(s.c.impression_id))
                              > max_impressions_per_minute))
    bots: set[str] = set()
    with store.engine.connect() as conn:
        for query in bursts:
            bots.update(row[0] for row in conn.execute(query))

        def served_where(t: Any) -> list[Any]:
            conds = [t.c.type == "served", *scope(t)]
            if bots:
                conds.append(or_(t.c.visitor.is_(None), t.c.visitor.not_in(sorted(bots))))
            return conds

        out = Counts(excluded_visitors=len(bots))
        for variant, n in conn.execute(
                select(s.c.variant, func.count(distinct(s.c.impression_id)))
                .where(*served_where(s)).group_by(s.c.variant)):
            out.impressions[variant] = n
        # Distinct (impression, position) clicks joined to what was served there.
        served_clicks = (select(s.c.variant, s.c.team, s.c.impression_id, s.c.position)
                         .select_from(s.join(c, clicked_join)).where(*served_where(s))
                         .distinct().subquery())
        for variant, clicks, imps in conn.execute(
                select(served_clicks.c.variant, func.count(),
                       func.count(distinct(served_clicks.c.impression_id)))
                .group_by(served_clicks.c.variant)):
            out.clicks[variant], out.clicked_impressions[variant] = clicks, imps
        viewed = and_(c.c.type == "viewed", c.c.impression_id == s.c.impression_id)
        for variant, n in conn.execute(
                select(s.c.variant, func.count(distinct(s.c.impression_id)))
                .select_from(s.join(c, viewed)).where(*served_where(s)).group_by(s.c.variant)):
            out.views[variant] = n
        # By position: per variant, or per team for an interleaved list.
        key = func.coalesce(s.c.team, s.c.variant)
        for name, pos, n in conn.execute(
                select(key, s.c.position, func.count(distinct(s.c.impression_id)))
                .where(*served_where(s), s.c.position.is_not(None))
                .group_by(key, s.c.position)):
            out.by_position.setdefault(name, {})[pos] = [n, 0]
        ckey = func.coalesce(served_clicks.c.team, served_clicks.c.variant)
        for name, pos, n in conn.execute(
                select(ckey, served_clicks.c.position, func.count())
                .group_by(ckey, served_clicks.c.position)):
            out.by_position.setdefault(name, {}).setdefault(pos, [0, 0])[1] = n
        teams: dict[str, dict[str, int]] = defaultdict(dict)
        for imp, team, n in conn.execute(
                select(served_clicks.c.impression_id, served_clicks.c.team, func.count())
                .where(served_clicks.c.team.is_not(None))
                .group_by(served_clicks.c.impression_id, served_clicks.c.team)):
            teams[imp][team] = n
        out.team_clicks = dict(teams)
    return out
