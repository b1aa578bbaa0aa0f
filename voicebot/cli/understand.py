"""`voicebot nlu`: understanding on its own, one sentence per line (no device is touched)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from device_bridge.devices import Area, Device
from voicebot.understand import ConversationContext, Understander, Understanding
from voicebot.understand.vocabulary import available_languages


def _load_home(path: Path | None) -> tuple[list[Device], list[Area]]:
    if path is None:
        return [], []
    from device_bridge.home import HomeFileError, load_home

    try:
        home = load_home(path)
    except HomeFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--home") from exc
    return [hd.device for hd in home.devices], list(home.areas)


def as_json(u: Understanding, devices: dict[str, Device]) -> dict[str, Any]:
    """The JSON object printed per sentence: ``text``, ``intent``, ``slots`` and detail."""
    return {
        "text": u.text,
        "intent": u.intent,
        "slots": u.slots,
        "confidence": u.confidence,
        "devices": [{"id": i, "name": devices[i].name} for i in u.device_ids if i in devices],
        "candidates": [{"id": i, "name": devices[i].name} for i in u.candidates if i in devices],
        "sentiment": None if u.sentiment is None else {
            "compound": u.sentiment.compound, "label": u.sentiment.label, "emotions": u.sentiment.emotions,
        },
        "language": u.language,
        "matched": u.matched,
    }


def register(app: typer.Typer) -> None:
    @app.command("nlu")
    def nlu(
        home: Annotated[Path | None, typer.Option("--home", help="Home file with the areas and device names.")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
        area: Annotated[str | None, typer.Option("--area", help="The room the speaker is in.")] = None,
        explain: Annotated[bool, typer.Option("--explain", help="Show which rule or template decided.")] = False,
        context: Annotated[
            bool, typer.Option("--context/--no-context", help="Read the lines as one conversation.")
        ] = True,
        language: Annotated[
            list[str] | None,
            typer.Option("--language", "-l", help="Language(s): the first is the default, others are detected per line."),
        ] = None,
    ) -> None:
        """Understand sentences from standard input, one per line: intent, slots, devices."""
        devices, areas = _load_home(home)
        by_id = {d.id: d for d in devices}
        langs = language or ["en"]
        known = available_languages()
        for lang in langs:
            if lang not in known:
                raise typer.BadParameter(f"no understanding data for {lang!r} (have: {', '.join(known)})", param_hint="--language")
        understander = Understander(lambda: devices, lambda: areas, language=langs[0], languages=langs[1:])
        conversation = ConversationContext() if context else None
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            u = understander.understand(text, conversation, speaker_area=area)
            if conversation is not None:
                conversation.update(u)
            if json_out:
                print(json.dumps(as_json(u, by_id), ensure_ascii=False), flush=True)
            else:
                names = ", ".join(by_id[i].name for i in u.device_ids) or "-"
                ask = ", ".join(by_id[i].name for i in u.candidates)
                extra = f"  (which one? {ask})" if ask else ""
                print(f"{text}\n  → {u.intent}  {u.slots}  devices: {names}{extra}", flush=True)
                if explain:
                    print(f"    by {u.matched or 'nothing'}  (confidence {u.confidence})", flush=True)
