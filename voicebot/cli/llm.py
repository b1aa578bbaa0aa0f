"""`voicebot llm-check` (is the configured LLM endpoint usable?) and `voicebot llm-serve`
(a small local OpenAI-compatible server to try the LLM policy with)."""

from __future__ import annotations

import json
import signal
import time
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # end as Ctrl-C does, stopping the model server on the way out


def register(app: typer.Typer) -> None:
    @app.command("llm-check")
    def llm_check(
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Send one tool-offering request and one streamed request to the configured LLM endpoint."""
        from voicebot.dialogue.llm import load_llm_settings
        from voicebot.dialogue.llm.client import ChatEndpoint, LLMUnavailable
        from voicebot.dialogue.llm.tools import TOOL_SCHEMAS

        s = load_llm_settings()
        report: dict[str, object] = {
            "enabled": s.enabled,
            "mode": s.mode,
            "base_url": s.resolved_base_url(),
            "model": s.model,
        }
        if not s.model:
            report["error"] = "no model configured: set VOICEBOT_LLM__MODEL (see docs/llm.md)"
            _out(report, as_json)
            raise typer.Exit(1)
        endpoint = ChatEndpoint(s)
        messages = [
            {"role": "system", "content": "You control a smart home with the tools."},
            {"role": "user", "content": "Turn on the kitchen light."},
        ]
        ok = True
        try:
            started = time.monotonic()
            turn = endpoint.choose(messages, TOOL_SCHEMAS, started + s.turn_timeout_s)
            report["tool_round_s"] = round(time.monotonic() - started, 3)
            report["tool_calls"] = [c.name for c in turn.tool_calls]
            started = time.monotonic()
            pieces = list(endpoint.stream([{"role": "user", "content": "Say hello in one sentence."}], started + s.turn_timeout_s))
            report["stream_s"] = round(time.monotonic() - started, 3)
            report["stream_pieces"] = len(pieces)
            report["answer"] = "".join(pieces).strip()
        except LLMUnavailable as exc:
            report["error"] = exc.reason
            ok = False
        finally:
            endpoint.close()
        _out(report, as_json)
        if not ok:
            raise typer.Exit(1)

    @app.command("llm-serve")
    def llm_serve(
        threads: Annotated[int, typer.Option(help="CPU threads for the model.")] = 2,
    ) -> None:
        """Run SmolLM2-135M on a local llama.cpp server (install: scripts/install-llm-server .venv)."""
        from voicebot.dialogue.llm.local_server import MODEL_ALIAS, LocalLlamaServer, LocalServerError

        # Without this a SIGTERM (kill, systemd) would end this process and leave the server running.
        signal.signal(signal.SIGTERM, _terminated)
        server = LocalLlamaServer(threads=threads)
        # A stop may come at any moment from here on (while the server starts, while the lines
        # below are printed): every one of them stops the model server and ends normally.
        try:
            try:
                server.start()
            except LocalServerError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(1) from None
            console.print(f"serving {MODEL_ALIAS} at {server.base_url}; in another shell:")
            console.print(f"  export VOICEBOT_LLM__BASE_URL={server.base_url}")
            console.print(f"  export VOICEBOT_LLM__MODEL={MODEL_ALIAS}")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second stop must not cut the first short
            server.stop()


def _out(report: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        style = "red" if key == "error" else "default"
        console.print(f"[{style}]{key}: {value}[/{style}]")
