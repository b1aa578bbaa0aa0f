"""The insights report: one self-contained HTML file (charts inlined as PNG data URIs) plus
the same charts as PNG files, for any time range. Feedback clips and live conversations
(per-turn sentiment from the dialogue store) both contribute."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import text

from voicebot.feedback import charts
from voicebot.feedback.analyze import analyze_text
from voicebot.feedback.store import FeedbackStore, StoredFeedback
from voicebot.sqlite_db import StoreDatabase


@dataclass
class ReportResult:
    html: Path
    charts: list[Path]
    feedback_count: int
    turn_count: int


def _bucket(span_s: float) -> tuple[str, timedelta]:
    if span_s <= 3 * 86400:
        return "hour", timedelta(hours=1)
    if span_s <= 120 * 86400:
        return "day", timedelta(days=1)
    return "week", timedelta(weeks=1)


def _floor(t: float, unit: str) -> datetime:
    dt = datetime.fromtimestamp(t, UTC)
    if unit == "hour":
        return dt.replace(minute=0, second=0, microsecond=0)
    day = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if unit == "week" else day


def _means(points: list[tuple[float, float]], unit: str) -> list[tuple[datetime, float, int]]:
    groups: dict[datetime, list[float]] = defaultdict(list)
    for t, v in points:
        groups[_floor(t, unit)].append(v)
    return [(k, sum(v) / len(v), len(v)) for k, v in sorted(groups.items())]


def conversation_turns(store: StoreDatabase, start: float, end: float) -> list[tuple[float, float, str]]:
    """(time, sentiment, channel) of every user turn with a sentiment in the range, read from
    the dialogue store's tables in the same database."""
    rows = store._read(
        text("SELECT t.at, t.sentiment, c.channel FROM turns t JOIN conversations c ON c.id = t.conversation_id "
             "WHERE t.sentiment IS NOT NULL AND t.at >= :start AND t.at < :end ORDER BY t.at"),
        {"start": start, "end": end},
    )
    return [(float(r["at"]), float(r["sentiment"]), str(r["channel"])) for r in rows]


def conversation_feedback(store: StoreDatabase, start: float, end: float, limit: int = 8) -> list[dict[str, Any]]:
    """What people said as feedback during live conversations (the dialogue's trace entries of
    kind "feedback", already redacted), newest first."""
    rows = [
        (r["at"], r["data"], r["channel"])
        for r in store._read(
            text("SELECT t.at, t.data, c.channel FROM trace t LEFT JOIN conversations c ON c.id = t.conversation_id "
                 "WHERE t.kind = 'feedback' AND t.at >= :start AND t.at < :end ORDER BY t.at DESC LIMIT :n"),
            {"start": start, "end": end, "n": 50 * limit},
        )
    ]
    cipher = store.cipher
    out: dict[str, dict[str, Any]] = {}  # by text: the newest mention, with how often it was said
    for at, data, channel in rows:
        try:
            said = str(json.loads(cipher.open(data) or "").get("feedback") or "").strip()
        except (ValueError, AttributeError):
            continue
        if not said:
            continue
        key = said.lower()
        if key in out:
            out[key]["repeats"] += 1
            out[key]["channels"].add(channel or "conversation")
            continue
        if len(out) < limit:
            out[key] = {
                "text": said,
                "channels": {channel or "conversation"},
                "when": datetime.fromtimestamp(float(at), UTC).strftime("%Y-%m-%d %H:%M"),
                "label": analyze_text(said).label,
                "repeats": 1,
            }
    return [{**q, "channels": ", ".join(sorted(q["channels"]))} for q in out.values()]


def _quote(f: StoredFeedback) -> dict[str, Any]:
    return {
        "text": f.transcript,
        "sentiment": f.sentiment,
        "label": f.label,
        "urgency": f.urgency,
        "reasons": ", ".join(f.urgency_reasons),
        "model": f"{f.model} {f.firmware}",
        "device": f.device_id,
        "when": datetime.fromtimestamp(f.recorded_at, UTC).strftime("%Y-%m-%d %H:%M"),
        "emotions": ", ".join(f.emotions),
        "ticket": f.ticket_id,
    }


def notable_quotes(items: list[StoredFeedback], n: int = 4) -> dict[str, list[dict[str, Any]]]:
    """The urgent ones (safety first), the most negative and the most positive, each clip once."""
    used: set[str] = set()  # by text: many devices say the same thing, a quote is shown once

    def pick(candidates: list[StoredFeedback]) -> list[dict[str, Any]]:
        out = []
        for f in candidates:
            key = f.transcript.strip().lower()
            if key not in used and len(out) < n:
                used.add(key)
                out.append({**_quote(f), "repeats": sum(g.transcript.strip().lower() == key for g in items)})
        return out

    order = {"critical": 0, "high": 1, "normal": 2}
    urgent = pick(sorted((f for f in items if f.urgency != "normal"), key=lambda f: (order[f.urgency], f.sentiment)))
    negative = pick(sorted((f for f in items if f.label == "negative"), key=lambda f: f.sentiment))
    positive = pick(sorted((f for f in items if f.label == "positive"), key=lambda f: -f.sentiment))
    return {"urgent": urgent, "negative": negative, "positive": positive}


def build_report(store_path: str | Path, start: float, end: float, out: str | Path) -> ReportResult:
    store = FeedbackStore(store_path)
    items = store.between(start, end)
    turns = conversation_turns(store, start, end)
    unit, _ = _bucket(end - start)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)

    by_model: dict[str, list[StoredFeedback]] = defaultdict(list)
    for f in items:
        by_model[f"{f.model} / {f.firmware}"].append(f)
    series = {name: _means([(f.recorded_at, f.sentiment) for f in fs], unit) for name, fs in by_model.items()}
    by_channel: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t, v, ch in turns:
        by_channel[ch].append((t, v))
    conv_series = {ch: _means(points, unit) for ch, points in by_channel.items()}

    topic_counts: Counter[tuple[str, str]] = Counter()
    for f in items:
        for kind in ("problems", "devices", "features"):
            for name in f.topics.get(kind, []):
                topic_counts[(kind[:-1], name)] += 1
    top = [(kind, name, n) for (kind, name), n in topic_counts.most_common(12)]
    emotions = Counter(e for f in items for e in f.emotions)
    labels = {
        name: (
            sum(f.label == "negative" for f in fs),
            sum(f.label == "neutral" for f in fs),
            sum(f.label == "positive" for f in fs),
        )
        for name, fs in by_model.items()
    }

    pngs = {
        "sentiment_over_time": charts.sentiment_over_time(
            series, conv_series, (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
        ),
        "top_topics": charts.top_topics(top),
        "emotion_mix": charts.emotion_mix(dict(emotions)),
        "sentiment_by_model": charts.labels_by_model(labels),
    }
    chart_files = []
    for name, data in pngs.items():
        p = out_dir / f"{name}.png"
        p.write_bytes(data)
        chart_files.append(p)

    complaints = []
    for (kind, name), n in topic_counts.most_common():
        if kind != "problem":
            continue
        example = min((f for f in items if name in f.topics.get("problems", [])), key=lambda f: f.sentiment)
        models = Counter(f"{f.model} {f.firmware}" for f in items if name in f.topics.get("problems", []))
        complaints.append({"name": name.replace("_", " "), "count": n, "models": ", ".join(m for m, _ in models.most_common(3)), "example": example.transcript})

    model_rows = []
    for name, fs in sorted(by_model.items()):
        problems = Counter(p for f in fs for p in f.topics.get("problems", []))
        model_rows.append(
            {
                "name": name,
                "count": len(fs),
                "mean": sum(f.sentiment for f in fs) / len(fs),
                "negative_pct": 100 * sum(f.label == "negative" for f in fs) / len(fs),
                "top_problem": problems.most_common(1)[0][0].replace("_", " ") if problems else "–",
                "critical": sum(f.urgency == "critical" for f in fs),
            }
        )
    channels = Counter(ch for _, _, ch in turns)
    summary = {
        "clips": len(items),
        "mean": (sum(f.sentiment for f in items) / len(items)) if items else None,
        "negative_pct": (100 * sum(f.label == "negative" for f in items) / len(items)) if items else None,
        "critical": sum(f.urgency == "critical" for f in items),
        "high": sum(f.urgency == "high" for f in items),
        "tickets": sum(1 for f in items if f.ticket_id),
        "turns": len(turns),
        "turn_mean": (sum(s for _, s, _ in turns) / len(turns)) if turns else None,
        "channels": ", ".join(f"{c} {n}" for c, n in channels.most_common()),
        "languages": ", ".join(f"{lang} {n}" for lang, n in Counter(f.language for f in items).most_common()),
    }
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("voicebot.feedback").joinpath("templates", name).read_text("utf-8")
        ),
        autoescape=True,  # transcripts are user speech: never markup
    )
    html = env.get_template("report.html.j2").render(
        title="Customer feedback report",
        period=(
            datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d"),
            (datetime.fromtimestamp(end, UTC) - timedelta(seconds=1)).strftime("%Y-%m-%d"),
        ),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        bucket=unit,
        summary=summary,
        charts={k: base64.b64encode(v).decode() for k, v in pngs.items()},
        models=model_rows,
        complaints=complaints[:10],
        quotes=notable_quotes(items),
        spoken=conversation_feedback(store, start, end),
    )
    html_path = out_dir / "report.html"
    html_path.write_text(html, encoding="utf-8")
    return ReportResult(html_path, chart_files, len(items), len(turns))
