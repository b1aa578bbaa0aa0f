"""`voicebot report` writes one self-contained HTML file with the charts inlined."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from feedback_seed import seed_conversations, seed_feedback
from matplotlib import image as mpimg
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.feedback.store import FeedbackStore


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_report_shows_trends_topics_emotions_and_quotes(tmp_path: Path) -> None:
    db = tmp_path / "voicebot.sqlite3"
    clips = seed_feedback(db)
    turns = seed_conversations(db)
    # A transcript with markup in it must come out as text.
    store = FeedbackStore(db)
    store.add({**_row(), "transcript": "<script>alert(1)</script> the app is broken"})
    store.close()
    today = datetime.now(UTC).date()
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["report", "--from", str(today - timedelta(days=20)), "--to", str(today), "--out", str(out), "--store", str(db)],
    )
    assert result.exit_code == 0, result.output
    assert f"{clips + 1} feedback clips, {turns} conversation turns" in result.output
    html = (out / "report.html").read_text()

    images = _pngs(html)
    assert len(images) == 4
    for png in images:
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 500
        assert pixels.std() > 0.05  # a drawn chart, not a blank image
    assert sorted(p.name for p in out.glob("*.png")) == [
        "emotion_mix.png", "sentiment_by_model.png", "sentiment_over_time.png", "top_topics.png",
    ]
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r'(src|href)="(https?:)?//', html)

    for expected in ("T100 / 1.4.2", "T100 / 1.5.0", "S200 / 2.1", "Top complaints", "update failed", "Notable quotes"):
        assert expected in html
    assert "sparking and I smell burning" in html and "critical" in html
    assert "Live conversations: 10 turns" in html and "phone 5" in html
    assert "Said during conversations" in html and "the new app is much easier to use" in html
    # The firmware update shows: 1.5.0's mean sentiment is below 1.4.2's.
    means = dict(re.findall(r"<td>(T100 / [\d.]+)</td><td class=\"n\">\d+</td>\s*<td class=\"n \w+\">([+-][\d.]+)</td>", html))
    assert float(means["T100 / 1.5.0"]) < float(means["T100 / 1.4.2"]), means
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "Peter" not in html and "5309" not in html  # stored text was redacted


def test_a_period_without_data_still_gives_a_readable_report(tmp_path: Path) -> None:
    db = tmp_path / "voicebot.sqlite3"
    seed_feedback(db, days=3)
    out = tmp_path / "empty"
    result = CliRunner().invoke(
        app, ["report", "--from", "2020-01-01", "--to", "2020-01-31", "--out", str(out), "--store", str(db)]
    )
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "No feedback in this period." in html and "2020-01-01 – 2020-01-31" in html
    assert len(_pngs(html)) == 4


def test_report_refuses_a_missing_store_and_a_backwards_range(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["report", "--out", str(tmp_path), "--store", str(tmp_path / "nope.sqlite3")])
    assert missing.exit_code == 2 and "no store at" in missing.output
    db = tmp_path / "voicebot.sqlite3"
    seed_feedback(db, days=1)
    backwards = runner.invoke(
        app, ["report", "--from", "2026-02-01", "--to", "2026-01-01", "--out", str(tmp_path), "--store", str(db)]
    )
    assert backwards.exit_code == 2 and "must be after" in backwards.output


def _row() -> dict[str, object]:
    now = datetime.now(UTC).timestamp() - 3600
    return {
        "device_id": "x-1", "clip_id": "xss", "audio_sha256": "0" * 64, "model": "S200", "firmware": "2.1",
        "locale": None, "recorded_at": now, "received_at": now, "stored_at": now, "duration_s": 2.0,
        "audio_format": "WAV/PCM_16", "transcript": "", "language": "en", "confidence": 0.9, "sentiment": -0.99,
        "label": "negative", "emotions": [], "topics": {"devices": ["app"], "features": [], "problems": ["not_working"]},
        "urgency": "high", "urgency_reasons": ["broken"], "worker": "t", "audio": None,
    }
