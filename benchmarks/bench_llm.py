"""Time to first audio with the LLM in the loop.

    .venv/bin/python benchmarks/bench_llm.py            # SmolLM2-135M on a local llama.cpp server
    .venv/bin/python benchmarks/bench_llm.py --rounds 3

Starts a simulated home on a real Mosquitto, the dialogue engine, the local OpenAI-compatible
server (scripts/install-llm-server installs it) and the bundled Piper voice. For each customer
turn it measures, from the moment the text is handed to the dialogue:
  - reply ready: the dialogue returned (for a streamed LLM answer: its first words exist);
  - first audio: the first sentence (or opening clause) synthesized, as voicebot.session cuts it;
  - full text: the whole reply written;
  - audio if not streamed: full text + synthesizing the first sentence, i.e. what the first
    audio would cost if speech waited for the whole answer.
Turns the rules understand never reach the model; they are measured too, for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_bridge.broker import MosquittoBroker  # noqa: E402
from voicebot.config import load_settings  # noqa: E402
from voicebot.dialogue.engine import DialogueEngine  # noqa: E402
from voicebot.dialogue.llm import LLMConversation, LLMSettings, StreamedReply  # noqa: E402
from voicebot.dialogue.llm.client import ChatEndpoint  # noqa: E402
from voicebot.dialogue.llm.local_server import MODEL_ALIAS, LocalLlamaServer  # noqa: E402
from voicebot.models import load_synthesizer  # noqa: E402
from voicebot.reply_speech import reply_sentences  # noqa: E402
from voicebot.store import Store  # noqa: E402
from voicebot.testing.scenario import simulated_home  # noqa: E402

HOME = ROOT / "tests" / "scenarios" / "home.yaml"
# Phrasings the rules are not built for (they go to the model), and ordinary commands (they do not).
FREE = [
    "it's a bit gloomy where I cook, could you do something about it",
    "what's going on with the stuff in my living room",
    "is my place warm enough for the baby tonight",
    "could you tell me something about the coffee gadget",
    "hmm the downstairs feels odd, what do you see",
    "anything unusual at home right now",
]
RULES = ["turn on the kitchen light", "what's the temperature in the bedroom", "turn off the floor lamp"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(conv: LLMConversation, synth: Any, text: str) -> dict[str, Any]:
    started = time.monotonic()
    reply = conv.handle_streaming(text)
    ready = time.monotonic() - started
    first_audio = None
    synth_first = 0.0
    for sentence in reply_sentences(reply):
        if first_audio is None:
            t = time.monotonic()
            next(iter(synth.synthesize(sentence, 16000)))
            synth_first = time.monotonic() - t
            first_audio = time.monotonic() - started
    full_text = time.monotonic() - started
    turn = conv.trace[-1]
    kind = turn.handled_by if turn.handled_by == "rules" and not turn.fallback else "llm"
    if turn.fallback and turn.handled_by == "rules":
        kind = "fallback"
    return {
        "text": text,
        "kind": kind,
        "streamed": isinstance(reply, StreamedReply),
        "ready": ready,
        "first_audio": first_audio if first_audio is not None else full_text,
        "full_text": full_text,
        "not_streamed": full_text + synth_first,
        "tools": [c["tool"] for c in turn.tools],
        "reply": reply.text,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2, help="times each turn is played")
    ap.add_argument("--verbose", action="store_true", help="print every turn")
    args = ap.parse_args()

    settings = load_settings()
    synth = load_synthesizer(settings)
    next(iter(synth.synthesize("Warming up.", 16000)))
    rows: list[dict[str, Any]] = []
    with MosquittoBroker() as broker, simulated_home(broker.url, HOME) as home, LocalLlamaServer() as server:
        llm = LLMSettings(base_url=server.base_url, model=MODEL_ALIAS, mode="fallback", turn_timeout_s=20, max_tokens=120)
        endpoint = ChatEndpoint(llm)
        store = Store(":memory:")
        engine = DialogueEngine(home.bridge, store)
        # The first requests evaluate the whole prompt (system prompt, devices, tools) and put it in
        # the server's cache; that is start-up cost, not a turn's, so it gets a long budget.
        patient = llm.model_copy(update={"turn_timeout_s": 300, "request_timeout_s": 300})
        warm = LLMConversation(engine.conversation("chat"), patient, ChatEndpoint(patient))
        measure(warm, synth, FREE[0])
        warm = LLMConversation(engine.conversation("chat"), patient, ChatEndpoint(patient))
        measure(warm, synth, "what do you know about the garden")
        for _ in range(args.rounds):
            for text in FREE + RULES:
                conv = LLMConversation(engine.conversation("chat"), llm, endpoint)
                conv.greet()
                row = measure(conv, synth, text)
                rows.append(row)
                if args.verbose:
                    print(f"{row['kind']:8} {row['first_audio']:.2f}s  {text!r} -> {row['reply'][:80]!r} {row['tools']}")
        endpoint.close()
        store.close()

    print(f"time to first audio, {len(rows)} turns, SmolLM2-135M Q4_1 on llama.cpp (2 threads), Piper joe-medium")
    print(f"{'route':10} {'turns':>5} {'reply p50':>10} {'1st audio p50':>14} {'p95':>7} {'full text p50':>14} {'unstreamed p50':>15}")
    for kind in ("rules", "llm", "fallback"):
        sel = [r for r in rows if r["kind"] == kind]
        if not sel:
            continue
        print(
            f"{kind:10} {len(sel):>5} {statistics.median(r['ready'] for r in sel):>9.2f}s"
            f" {statistics.median(r['first_audio'] for r in sel):>13.2f}s {percentile([r['first_audio'] for r in sel], 0.95):>6.2f}s"
            f" {statistics.median(r['full_text'] for r in sel):>13.2f}s {statistics.median(r['not_streamed'] for r in sel):>14.2f}s"
        )
    streamed = [r for r in rows if r["kind"] == "llm" and r["streamed"]]
    if streamed:
        gain = statistics.median(r["not_streamed"] - r["first_audio"] for r in streamed)
        print(f"streamed LLM answers: {len(streamed)}; first audio earlier than waiting for the whole answer by {gain:.2f}s (median)")
    tools = [t for r in rows for t in r["tools"]]
    print(f"tool calls: {len(tools)} ({', '.join(sorted(set(tools))) or 'none'})")


if __name__ == "__main__":
    main()
