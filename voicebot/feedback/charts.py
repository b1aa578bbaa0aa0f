"""PNG charts for the insights report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

try:
    import matplotlib
except ImportError as exc:  # the optional "reports" extra
    raise ImportError("the feedback report needs matplotlib: pip install 'voicebot[reports]'") from exc

matplotlib.use("Agg")
import matplotlib.dates as mdates  # the backend is chosen before pyplot loads
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

NEGATIVE, NEUTRAL, POSITIVE = "#c0392b", "#95a5a6", "#27ae60"
KIND_COLOURS = {"problem": "#c0392b", "device": "#2c7fb8", "feature": "#7f8c8d"}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _empty(fig: Figure, ax: plt.Axes, message: str) -> bytes:
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#666", transform=ax.transAxes)
    ax.set_axis_off()
    return _png(fig)


def sentiment_over_time(
    series: dict[str, list[tuple[datetime, float, int]]],
    conversations: dict[str, list[tuple[datetime, float, int]]],
    period: tuple[datetime, datetime],
) -> bytes:
    """Mean sentiment per time bucket: one line per device model and firmware, and the live
    conversations' per-turn sentiment as a dashed line per channel. Marker size grows with the
    clip count."""
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    if not series and not conversations:
        return _empty(fig, ax, "no feedback or conversations in this period")
    for name, points in sorted(series.items()):
        xs, ys, ns = zip(*points, strict=True)
        ax.plot(xs, ys, marker="o", linewidth=1.8, label=name)
        ax.scatter(xs, ys, s=[18 + 10 * n for n in ns], alpha=0.25)
    greys = ["#444", "#888", "#222", "#aaa"]
    for i, (channel, points) in enumerate(sorted(conversations.items())):
        xs, ys, _ = zip(*points, strict=True)
        ax.plot(xs, ys, linestyle="--", color=greys[i % len(greys)], marker="s", markersize=4,
                label=f"conversations: {channel}")
    ax.axhline(0, color="#999", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlim(period[0], period[1])  # the whole requested period, even when data covers a day of it
    ax.set_ylabel("mean sentiment (−1 … +1)")
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, title="model / firmware")
    return _png(fig)


def top_topics(items: Sequence[tuple[str, str, int]]) -> bytes:
    """Horizontal bars of (kind, name, count), most frequent on top, coloured by kind."""
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * max(len(items), 3) + 1.0))
    if not items:
        return _empty(fig, ax, "no topics found")
    labels = [f"{name.replace('_', ' ')} ({kind})" for kind, name, _ in items][::-1]
    counts = [n for _, _, n in items][::-1]
    colours = [KIND_COLOURS.get(kind, "#999") for kind, _, _ in items][::-1]
    bars = ax.barh(labels, counts, color=colours)
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_xlabel("clips")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def emotion_mix(counts: dict[str, int]) -> bytes:
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    if not counts:
        return _empty(fig, ax, "no emotions detected")
    names = sorted(counts, key=lambda k: -counts[k])
    palette = {
        "anger": "#c0392b", "frustration": "#e67e22", "disappointment": "#d35400", "worry": "#8e44ad",
        "anxiety": "#8e44ad", "confusion": "#f1c40f", "satisfaction": "#27ae60", "gratitude": "#16a085",
    }
    bars = ax.bar(names, [counts[n] for n in names], color=[palette.get(n, "#7f8c8d") for n in names])
    ax.bar_label(bars, padding=2, fontsize=9)
    ax.set_ylabel("clips")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    return _png(fig)


def labels_by_model(rows: dict[str, tuple[int, int, int]]) -> bytes:
    """Stacked bars of (negative, neutral, positive) clip counts per model and firmware."""
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * max(len(rows), 3) + 1.0))
    if not rows:
        return _empty(fig, ax, "no feedback in this period")
    names = sorted(rows)[::-1]
    neg = [rows[n][0] for n in names]
    neu = [rows[n][1] for n in names]
    pos = [rows[n][2] for n in names]
    ax.barh(names, neg, color=NEGATIVE, label="negative")
    ax.barh(names, neu, left=neg, color=NEUTRAL, label="neutral")
    ax.barh(names, pos, left=[a + b for a, b in zip(neg, neu, strict=True)], color=POSITIVE, label="positive")
    ax.set_xlabel("clips")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="lower right", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
