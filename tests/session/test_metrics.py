"""Per-stage latency histograms, summarized and served over HTTP for Prometheus."""

from __future__ import annotations

import urllib.request

from device_bridge.broker import free_port
from voicebot.metrics import Metrics


def test_turn_timings_become_histograms_and_a_summary() -> None:
    m = Metrics()
    for first in (0.3, 0.4, 0.5, 0.9):
        m.observe_turn("speaker", {"endpoint": 0.3, "first_audio": first, "end_reason": "quick"})
    m.observe_barge_in("speaker", 0.15)
    summary = m.summary()
    assert summary["first_audio"]["count"] == 4
    assert abs(summary["first_audio"]["p50"] - 0.45) < 1e-9
    assert summary["barge_in_reaction"]["max"] == 0.15

    port = free_port()
    m.serve(port)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'voicebot_turn_stage_seconds_count{channel="speaker",stage="first_audio"} 4.0' in text
    assert 'voicebot_barge_ins_total{channel="speaker"} 1.0' in text
