"""``negmon report``: one self-contained HTML page of moods by place and topic, from scored posts.

The page works opened from disk with no network: Vega, Vega-Lite and Vega-Embed (from the ``vl-convert-python``
wheel), the styles, the data and the page's own script are all inline. Charts are Vega-Lite specs built with
Altair; the page filters the data by region, topic and period in the browser and hands each chart its rows.

What the page holds: counts per week x place x topic (every post), and a sample of posts to read behind each
cell: per place and topic the ``per_cell`` posts that matter most (needs a reply, urgent, negative, highest
reply score, newest first), plus the posts of each emerging problem, at most ``max_posts`` in all, each cut to
``max_chars`` characters with its reasons highlighted. Needs the ``[report]`` extra.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from negmon.errors import InputError
from negmon.moods import _number, _pandas, aggregate, emerging, posts_frame, wilson

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TOPIC_NAMES", "ReportSummary", "build_report", "chart_specs"]

TOPIC_NAMES = {
    "housing_utilities": "ЖКХ", "roads": "Дороги", "public_transport": "Общественный транспорт",
    "healthcare": "Здравоохранение", "education": "Образование", "waste": "Мусор и ТКО",
    "landscaping": "Благоустройство", "social_support": "Социальная защита",
    "energy": "Электро- и газоснабжение", "ecology": "Экология", "animals": "Безнадзорные животные",
    "safety": "Безопасность и ЧС", "construction": "Строительство", "communications": "Связь",
    "culture_sport": "Культура и спорт", "economy_trade": "Экономика и торговля",
    "government": "Органы власти и госуслуги", "other": "Прочее",
}
NO_PLACE = "место не названо"
NO_REGION = "регион не определён"
OTHER_TOPICS = "другие темы"
TOP_TOPICS = 6  # trend lines: the busiest topics, the rest as one line
MAP_LABELS = 8  # the busiest places are named on the map
MIN_POSTS = 3  # places with fewer posts stay off the ranking, unless fewer than 10 places have that many
HEAT_ROWS = 20


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`build_report` wrote: the page, its size, the posts counted and sampled, the images."""

    path: Path
    bytes: int
    posts: int
    sampled: int
    places: int
    weeks: int
    emerging: int
    unreadable: int
    undated: int
    images: tuple[Path, ...] = ()
    incidents: int = 0

    def __str__(self) -> str:
        return (f"report: {self.path} ({self.bytes / 1e6:.1f} MB): {self.posts} posts, {self.places} places, "
                f"{self.weeks} weeks, {self.emerging} emerging problems, {self.incidents} incidents, "
                f"{self.sampled} posts to read"
                + (f"; {self.unreadable} unreadable rows" if self.unreadable else "")
                + (f"; {self.undated} posts without a date left out" if self.undated else "")
                + (f"; {len(self.images)} images" if self.images else ""))


def _vega() -> tuple[Any, Any]:
    try:
        import altair as alt
        import vl_convert as vlc
    except ImportError as e:
        raise InputError(f"the report needs the [report] extra ({e.name} is missing): "
                         "pip install 'negmon[report]'") from None
    return alt, vlc


def chart_specs() -> dict[str, dict[str, Any]]:
    """The Vega-Lite specs of the page's charts; each reads the named dataset of its own name."""
    alt, _ = _vega()
    share = alt.Scale(scheme="orangered", domain=[0, 1])
    tip_share = [alt.Tooltip("posts:Q", title="постов"), alt.Tooltip("share:Q", title="доля негатива", format=".0%"),
                 alt.Tooltip("low:Q", title="нижняя граница (95%)", format=".0%")]
    points = alt.Chart(alt.Data(name="map"), width="container", height=330)
    m = alt.layer(
        points.mark_circle(opacity=0.75, stroke="#333", strokeWidth=0.4).encode(
            longitude="lon:Q", latitude="lat:Q",
            size=alt.Size("posts:Q", title="постов", scale=alt.Scale(range=[15, 900])),
            color=alt.Color("low:Q", title="негатив (нижн. гр.)", scale=share, legend=alt.Legend(format=".0%")),
            tooltip=[alt.Tooltip("place:N", title="место"), *tip_share]),
        points.mark_text(align="left", dx=7, fontSize=10, color="#333").encode(
            longitude="lon:Q", latitude="lat:Q", text="name:N"),
    ).project(type="conicEqualArea", parallels=[52, 68], rotate=[-100, 0])
    base = alt.Chart(alt.Data(name="heat"), width="container", height={"step": 18})
    heat = alt.layer(
        base.mark_rect(stroke="white").encode(
            x=alt.X("topic:N", title=None, axis=alt.Axis(labelAngle=-40, labelLimit=140), sort=alt.SortField("order")),
            y=alt.Y("place:N", title=None, sort=alt.SortField("rank"), axis=alt.Axis(labelLimit=220)),
            color=alt.Color("low:Q", title="негатив (нижн. гр.)", scale=share, legend=alt.Legend(format=".0%")),
            tooltip=[alt.Tooltip("place:N", title="место"), alt.Tooltip("topic:N", title="тема"), *tip_share],
        ),
        base.mark_text(fontSize=9).encode(
            x=alt.X("topic:N", sort=alt.SortField("order")), y=alt.Y("place:N", sort=alt.SortField("rank")),
            text="posts:Q", color=alt.value("#222"),
        ),
    )
    heat = heat.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    week = alt.X("week:T", title=None, axis=alt.Axis(format="%d.%m"))
    topic = alt.Color("topic:N", title="тема", legend=alt.Legend(orient="bottom", columns=4, labelLimit=160))
    volume = alt.Chart(alt.Data(name="volume"), width="container", height=220).mark_line(point=True).encode(
        x=week, y=alt.Y("posts:Q", title="постов в неделю"), color=topic,
        tooltip=[alt.Tooltip("week:T", title="неделя с", format="%d.%m.%Y"), alt.Tooltip("topic:N", title="тема"),
                 alt.Tooltip("posts:Q", title="постов")])
    negative = alt.Chart(alt.Data(name="negative"), width="container", height=220).mark_line(point=True).encode(
        x=week, y=alt.Y("share:Q", title="доля негатива", axis=alt.Axis(format=".0%")), color=topic,
        tooltip=[alt.Tooltip("week:T", title="неделя с", format="%d.%m.%Y"), alt.Tooltip("topic:N", title="тема"),
                 alt.Tooltip("share:Q", title="доля негатива", format=".0%"), alt.Tooltip("posts:Q", title="постов")])
    out = {}
    for name, chart in (("map", m), ("heat", heat), ("volume", volume), ("negative", negative)):
        spec = chart.to_dict()
        spec.pop("datasets", None)
        out[name] = spec
    return out


def _place_label(settlement: Any, region: Any) -> str:
    s = settlement if isinstance(settlement, str) and settlement else NO_PLACE
    r = region if isinstance(region, str) and region else NO_REGION
    return f"{s} ({r})"


def _when(v: str | None, name: str) -> datetime | None:
    if v is None:
        return None
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        raise InputError(f"{name} must be a date as YYYY-MM-DD, got {v!r}") from None


def build_report(inputs: Any, output: str | Path, *, start: str | None = None, end: str | None = None,
                 region: str | None = None, images: str | Path | None = None, csv: str | Path | None = None,
                 title: str = "Настроения жителей по местам и темам", per_cell: int = 6, max_posts: int = 6000,
                 max_chars: int = 600, incidents: str | Path | None = None) -> ReportSummary:
    """Write the HTML report of ``inputs`` (scored files, Results or a DataFrame: see :mod:`negmon.moods`).

    ``start``/``end`` (YYYY-MM-DD, inclusive) and ``region`` (a federal subject; close spellings are
    resolved) limit the posts. ``images`` names a folder for an SVG and a PNG of each chart (of everything in
    the page) and ``aggregate.csv``; ``csv`` names another place for that CSV. ``incidents`` (an incident store
    written by ``negmon incidents add``) adds its open and answered incidents of the period and region: overdue
    and urgent first, at most 30."""
    pd_ = _pandas()
    _, vlc = _vega()
    out = Path(output)
    df = posts_frame(inputs)
    unreadable = int(df.attrs.get("unreadable", 0))
    undated = int(df.loc[df["when"].isna(), "post"].nunique())
    df = df[df["when"].notna()]
    lo, hi = _when(start, "--from"), _when(end, "--to")
    if lo is not None:
        df = df[df["when"] >= lo]
    if hi is not None:
        df = df[df["when"] < hi + pd_.Timedelta(days=1)]
    official = None
    if region:
        from negmon.localities import check_region

        official = check_region(region)
        df = df[df["region"] == official]
    if df.empty:
        raise InputError("no dated posts to report" + (" in the chosen period and region" if start or end or region
                                                          else "") + f" (posts without a date: {undated})")
    df = df.copy()
    df["week"] = df["when"].dt.to_period("W").dt.start_time
    df["place"] = (df["settlement"].astype("string").fillna(NO_PLACE) + " ("
                   + df["region"].astype("string").fillna(NO_REGION) + ")")
    df["topic"] = df["topic"].fillna("other")
    df["primary"] = ~df.duplicated("post")
    weeks = sorted(df["week"].unique())
    week_ix = {w: i for i, w in enumerate(weeks)}
    places = df.groupby("place", sort=True).agg(region=("region", "first"), lat=("lat", "first"),
                                                 lon=("lon", "first"), settlement=("settlement", "first"))
    place_ix = {p: i for i, p in enumerate(places.index)}
    present = {str(t) for t in df["topic"].unique()}
    topics = [t for t in TOPIC_NAMES if t in present] + sorted(present - set(TOPIC_NAMES))
    topic_ix = {t: i for i, t in enumerate(topics)}
    # n, neg, rep, urg count a post under every place it names; the *1 columns once, under its first place
    counts = df.assign(w=df["week"].map(week_ix), p=df["place"].map(place_ix), t=df["topic"].map(topic_ix),
                       n=1, neg=df["negative"], rep=df["needs_reply"], urg=df["urgent"], n1=df["primary"],
                       neg1=df["negative"] & df["primary"], rep1=df["needs_reply"] & df["primary"],
                       urg1=df["urgent"] & df["primary"])
    cube = counts.groupby(["w", "p", "t"])[["n", "neg", "rep", "urg", "n1", "neg1", "rep1", "urg1"]].sum().reset_index()

    spikes = emerging(df, by=("region", "settlement", "topic"), freq="W")
    sample = _sample(df, spikes, per_cell, max_posts)
    post_ix = {p: i for i, p in enumerate(sample["post"].drop_duplicates())}
    texts = sample.drop_duplicates("post")
    posts = [_post_record(r, max_chars) for r in texts.itertuples(index=False)]
    links = [[place_ix[p], post_ix[q], topic_ix[t], week_ix[w]]
             for p, q, t, w in zip(sample["place"], sample["post"], sample["topic"], sample["week"], strict=True)]
    problems = []
    for r in spikes.itertuples(index=False):
        label = _place_label(r.settlement, r.region)
        problems.append({"place": label, "region": r.region if isinstance(r.region, str) else NO_REGION,
                         "topic": TOPIC_NAMES.get(str(r.topic), str(r.topic)), "t": topic_ix.get(str(r.topic), -1),
                         "week": r.period.strftime("%d.%m.%Y"), "posts": int(r.reply_posts),
                         "baseline": float(r.baseline), "p": float(r.p_value), "q": float(r.q_value),
                         "items": [post_ix[q] for q in r.posts if q in post_ix][:20]})
    data = {
        "title": title,
        "weeks": [w.strftime("%Y-%m-%d") for w in weeks],
        # [label, region, lat, lon, 1 when the posts name no settlement: counted, never ranked or mapped]
        "places": [[name, row.region if isinstance(row.region, str) else NO_REGION, _num(row.lat), _num(row.lon),
                    int(not isinstance(row.settlement, str))] for name, row in places.iterrows()],
        "topics": [[t, TOPIC_NAMES.get(t, t)] for t in topics],
        "cube": cube[["w", "p", "t", "n", "neg", "rep", "urg", "n1", "neg1", "rep1", "urg1"]].astype(int).values.tolist(),
        "posts": posts,
        "links": links,
        "emerging": problems,
        "incidents": _incident_records(incidents, lo, hi, official, topic_ix) if incidents is not None else [],
        "generated": datetime.now().strftime("%d.%m.%Y %H:%M"),
        "source": {"posts": int(df["post"].nunique()), "unreadable": unreadable, "undated": undated,
                   "per_cell": per_cell, "max_posts": max_posts, "max_chars": max_chars},
    }
    specs = chart_specs()
    data["settings"] = {"other": OTHER_TOPICS, "top_topics": TOP_TOPICS, "map_labels": MAP_LABELS,
                        "min_posts": MIN_POSTS, "heat_rows": HEAT_ROWS}
    page = _page(title, specs, data, _bundle(vlc))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, "utf-8")
    tmp.replace(out)
    written: list[Path] = []
    table = None
    if images is not None or csv is not None:
        table = aggregate(df, by=("region", "settlement", "topic"), freq="W")
    if images is not None:
        folder = Path(images)
        folder.mkdir(parents=True, exist_ok=True)
        for name, spec in specs.items():
            full = _static(name, spec, data)
            (folder / f"{name}.svg").write_text(vlc.vegalite_to_svg(full), "utf-8")
            (folder / f"{name}.png").write_bytes(vlc.vegalite_to_png(full, scale=2))
            written += [folder / f"{name}.svg", folder / f"{name}.png"]
        assert table is not None
        table.to_csv(folder / "aggregate.csv", index=False)
        written.append(folder / "aggregate.csv")
    if csv is not None:
        assert table is not None
        table.to_csv(csv, index=False)
    return ReportSummary(path=out, bytes=out.stat().st_size, posts=int(df["post"].nunique()), sampled=len(posts),
                         places=len(places), weeks=len(weeks), emerging=len(problems), unreadable=unreadable,
                         undated=undated, images=tuple(written), incidents=len(data["incidents"]))


def _incident_records(db: str | Path, lo: datetime | None, hi: datetime | None, region: str | None,
                      topic_ix: dict[str, int]) -> list[dict[str, Any]]:
    """The incidents the page lists: open or answered, last seen in the period, of the region; overdue first,
    then urgent, then the most posts."""
    from negmon.incidents import IncidentTracker

    if not Path(db).is_file():
        raise InputError(f"no incident database at {db}: create it with `negmon incidents add SCORED --db {db}`")
    tracker = IncidentTracker(db)
    found = []
    for i in tracker.incidents(status=("open", "answered"), region=region):
        seen = datetime.fromisoformat(i.last_seen).replace(tzinfo=None)
        if (lo is not None and seen < lo) or (hi is not None and seen >= hi + timedelta(days=1)):
            continue
        found.append(i)
    found.sort(key=lambda i: (not i.overdue, i.max_priority != "urgent", -i.post_count, i.id))
    out = []
    for i in found[:30]:
        text = next((p.get("text", "") for p in tracker.store.posts_of(i.id) if p["id"] == i.representative), "")
        out.append({"id": i.id, "place": ", ".join(x for x in (i.locality, i.address) if x) or (i.region or NO_REGION),
                    "region": i.region or NO_REGION, "topic": TOPIC_NAMES.get(i.topic or "", i.topic or ""),
                    "t": topic_ix.get(i.topic or "", -1), "posts": i.post_count, "urgent": i.max_priority == "urgent",
                    "status": i.status, "overdue": i.overdue,
                    "deadline": (i.deadline or "")[:16].replace("T", " ") + (" UTC" if i.deadline else ""),
                    "bodies": "; ".join(i.bodies), "text": text[:300]})
    return out


def _bundle(vlc: Any) -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (vl-convert bundles them in about 4 s), kept in the user's
    cache folder per vl-convert version; built afresh where that folder cannot be written."""
    import os
    from importlib.metadata import version

    from negmon._cache import cache_dir

    path = cache_dir() / f"vega-bundle-{version('vl-convert-python')}.js"
    try:
        return path.read_text("utf-8")
    except OSError:
        pass
    bundle = str(vlc.javascript_bundle())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(bundle, "utf-8")
        tmp.replace(path)
    except OSError:
        pass
    return bundle


def _num(v: Any) -> float | None:
    f = _number(v)
    return None if f is None else round(f, 4)


def _sample(df: pd.DataFrame, spikes: pd.DataFrame, per_cell: int, max_posts: int) -> pd.DataFrame:
    """The (post, place) rows whose posts the page carries: the most pressing ``per_cell`` of each place and
    topic, and every post of an emerging problem; at most ``max_posts`` posts."""
    pd = _pandas()
    score = pd.to_numeric(df["reply_score"], errors="coerce").fillna(0.0)
    ranked = df.assign(_key=(df["needs_reply"].astype(int) * 8 + df["urgent"].astype(int) * 4
                             + df["negative"].astype(int) * 2 + score)).sort_values(["_key", "when"], ascending=False)
    top = ranked.groupby(["place", "topic"], sort=False).head(per_cell)
    hot = {q for items in spikes["posts"] for q in items} if len(spikes) else set()
    chosen = pd.concat([ranked[ranked["post"].isin(hot)], top]).drop_duplicates(["post", "place"])
    keep = chosen["post"].drop_duplicates().head(max_posts)
    return chosen[chosen["post"].isin(set(keep))]


def _post_record(r: Any, max_chars: int) -> dict[str, Any]:
    text = str(r.text or "")
    cut = text[:max_chars]
    marks = []
    for x in r.reasons or []:
        if isinstance(x, dict) and isinstance(x.get("start"), int) and isinstance(x.get("end"), int):
            s, e = x["start"], min(x["end"], len(cut))
            if 0 <= s < e:
                marks.append([s, e])
    return {"text": cut + ("…" if len(text) > max_chars else ""), "date": r.when.strftime("%d.%m.%Y %H:%M"),
            "sentiment": r.sentiment, "reply": bool(r.needs_reply), "urgent": r.priority == "urgent",
            "id": None if r.id is None else str(r.id), "marks": sorted(marks)}


def _static(name: str, spec: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with its rows inlined (every post, every week): for the SVG and PNG exports."""
    rows = _rows_for(name, data)
    full = json.loads(json.dumps(spec))
    full["data"] = {"values": rows}
    full["width"] = 760
    if name == "map":
        full["height"] = 420
    full.setdefault("config", {})["background"] = "white"
    return full


def _rows_for(name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart rows the page computes in the browser (see ``APP`` in :mod:`negmon._report_page`), here for
    all the data with no filter: for the SVG and PNG exports."""
    import numpy as np

    cube = np.array(data["cube"], dtype=np.int64).reshape(-1, 11)
    topics = [t[1] for t in data["topics"]]
    if name in ("volume", "negative"):
        totals = np.bincount(cube[:, 2], weights=cube[:, 7], minlength=len(topics))
        top = [int(t) for t in np.argsort(-totals, kind="stable")[:TOP_TOPICS] if totals[t] > 0]
        out = []
        for w in range(cube[:, 0].min(), cube[:, 0].max() + 1):
            groups: dict[str, list[int]] = {}
            for row in cube[cube[:, 0] == w]:
                label = topics[int(row[2])] if int(row[2]) in top else OTHER_TOPICS
                acc = groups.setdefault(label, [0, 0])
                acc[0] += int(row[7])
                acc[1] += int(row[8])
            for label in [topics[t] for t in top] + [OTHER_TOPICS] * (len(top) < int((totals > 0).sum())):
                n, neg = groups.get(label, [0, 0])
                out.append({"week": data["weeks"][w], "topic": label, "posts": n, "share": neg / n if n else None})
        return out
    by_place: dict[int, list[int]] = {}
    for row in cube:
        acc = by_place.setdefault(int(row[1]), [0, 0])
        acc[0] += int(row[3])
        acc[1] += int(row[4])
    if name == "map":
        busiest = set(sorted(by_place, key=lambda p: -by_place[p][0])[:MAP_LABELS])
        out = []
        for p, (n, neg) in by_place.items():
            label, _, lat, lon, unnamed = data["places"][p]
            if lat is not None and lon is not None and not unnamed:
                out.append({"place": label, "name": label.split(" (")[0] if p in busiest else "", "lat": lat,
                            "lon": lon, "posts": n, "share": neg / n, "low": float(wilson(neg, n)[0])})
        return out
    named = {p: v for p, v in by_place.items() if not data["places"][p][4]}
    by_place = named
    least = MIN_POSTS if sum(1 for n, _ in by_place.values() if n >= MIN_POSTS) >= 10 else 1
    ranked = sorted(by_place, key=lambda p: (-float(wilson(by_place[p][1], by_place[p][0])[0]), -by_place[p][0]))
    rank = {p: i for i, p in enumerate([p for p in ranked if by_place[p][0] >= least][:HEAT_ROWS])}
    cells: dict[tuple[int, int], list[int]] = {}
    for row in cube:
        if int(row[1]) in rank:
            acc = cells.setdefault((int(row[1]), int(row[2])), [0, 0])
            acc[0] += int(row[3])
            acc[1] += int(row[4])
    return [{"place": data["places"][p][0], "topic": topics[t], "posts": n, "share": neg / n,
             "low": float(wilson(neg, n)[0]), "rank": rank[p], "order": t} for (p, t), (n, neg) in cells.items()]


def _script_json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _page(title: str, specs: dict[str, Any], data: dict[str, Any], bundle: str) -> str:
    from negmon._report_page import APP, BODY, CSS

    safe = bundle.replace("</script", "<\\/script")

    return (f"<!DOCTYPE html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + BODY.replace("{title}", html.escape(title))
            + f"\n<script>{safe}</script>\n"
            f"<script type=\"application/json\" id=\"negmon-data\">{_script_json(data)}</script>\n"
            f"<script type=\"application/json\" id=\"negmon-specs\">{_script_json(specs)}</script>\n"
            f"<script>{APP}</script>\n</body>\n</html>\n")
