"""Understanding on public development data: Home Assistant's intent tests (en, de, es) and the
SLURP crowd-sourced requests (see ../shared/data/nlu/README.md).

    .venv/bin/python benchmarks/bench_nlu_public.py                       # every set, in process
    .venv/bin/python benchmarks/bench_nlu_public.py --sets en --failures /tmp/fail.txt
    .venv/bin/python benchmarks/bench_nlu_public.py --via-cli --json-out /tmp/a.jsonl   # `voicebot nlu --json`

Per set: intent accuracy, intent+slots (strict: every expected slot right and no other Home
Assistant slot; lenient: every expected slot right), a per-intent table, time per sentence
(p50/p95) and the memory the understander adds. ``--failures`` writes every miss; ``--json-out``
writes the ``voicebot nlu --json`` object of every sentence (two runs under different
PYTHONHASHSEED values must give identical files).

The HA sentences are spoken in the fixtures home of their language (``context.area`` is the
speaker's area); ``slot_combination`` sentences bring their own entities and areas. A slot
value that is a list means any of them is right, as in Home Assistant's own test runner.
SLURP is spoken in the built-in demo home with the speaker in the living room: its ``iot_*``
intents map to Home Assistant intents (below); every other request, and ``iot_coffee`` (the
home has a coffee machine plug, not a coffee machine), must get no device intent. These are
development halves: tune on them, never special-case a sentence.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_bridge.devices import Area, Device  # noqa: E402
from device_bridge.home import ha_fixture_home, load_home  # noqa: E402
from voicebot.cli.understand import as_json  # noqa: E402
from voicebot.understand import DEVICE_INTENTS, Understander  # noqa: E402
from voicebot.understand.capabilities import CHANGING  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nlu"
if not DATA.exists():
    DATA = Path("/work/shared/data/nlu")
HA_SLOTS = ("name", "area", "floor", "domain", "device_class", "state", "brightness", "color",
            "temperature", "position", "volume_level")
NO_ACTION = None  # the label of "no device intent"
# SLURP intents → the Home Assistant intents that are right for them (None: no device intent).
SLURP_MAP: dict[str, tuple[str | None, ...]] = {
    "iot_hue_lighton": ("HassTurnOn",), "hue_lighton": ("HassTurnOn",),
    "iot_hue_lightoff": ("HassTurnOff",), "hue_lightoff": ("HassTurnOff",),
    "iot_hue_lightdim": ("HassLightSet",), "iot_hue_lightup": ("HassLightSet",), "hue_lightup": ("HassLightSet",),
    "iot_hue_lightchange": ("HassLightSet",),
    "iot_wemo_on": ("HassTurnOn",), "iot_wemo_off": ("HassTurnOff",),
    "iot_cleaning": ("HassVacuumStart",), "cleaning": ("HassVacuumStart",),
    "iot_coffee": (None,),
    "audio_volume_up": ("HassSetVolume",), "audio_volume_down": ("HassSetVolume",),
    "audio_volume_other": ("HassSetVolume", None),
    "audio_volume_mute": ("HassSetVolume", None),  # no mute intent yet: a volume change or nothing
    # a media player is in the home: playing is resuming it, or nothing
    "play_music": ("HassMediaUnpause", None), "play_radio": ("HassMediaUnpause", None),
    "play_podcasts": ("HassMediaUnpause", None), "play_audiobook": ("HassMediaUnpause", None),
}
SLURP_HOME = "demo"
SLURP_AREA = "Living Room"


@dataclass
class Item:
    text: str
    language: str
    intents: tuple[str | None, ...]  # any of these is right
    slots: dict[str, Any]  # expected (HA sets only)
    home: str  # key into the homes table
    area: str | None
    source: str  # e.g. "tests/en/HassTurnOn.yaml" or "slurp iot_coffee"


@dataclass
class Homes:
    """Home key → (devices, areas); and the YAML file each was written to for the CLI."""

    loaded: dict[str, tuple[list[Device], list[Area]]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _fixture_home(path: Path) -> dict[str, Any]:
    return ha_fixture_home(yaml.safe_load(path.read_text(encoding="utf-8")))


def _file_home(row: dict[str, Any]) -> dict[str, Any]:
    """A slot_combination test's own entities and areas as HA fixtures, then as a home."""
    entities = []
    for e in row.get("file_entities") or []:
        attrs = {k: v for k, v in e.items() if k not in ("name", "domain", "state", "area", "id")}
        entities.append({"name": e["name"], "id": e.get("id") or f"{e['domain']}.{_slug(e['name'])}",
                         "state": e.get("state", ""), "area": e.get("area"), "attributes": attrs})
    areas = [{"name": a["name"], "id": a.get("id") or a["name"]} for a in row.get("file_areas") or []]
    return ha_fixture_home({"areas": areas, "entities": entities})


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def load_items(sets: list[str], homes: Homes) -> list[Item]:
    items: list[Item] = []
    raw_homes: dict[str, dict[str, Any]] = {}
    for lang in [s for s in sets if s in ("en", "de", "es")]:
        raw_homes[lang] = _fixture_home(DATA / f"ha_fixtures_{lang}.yaml")
        for line in (DATA / f"ha_intents_tests_dev_{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = lang
            if row.get("test_format") == "slot_combination":
                home = _file_home(row)
                key = f"{lang}:" + json.dumps(home, sort_keys=True)
                raw_homes.setdefault(key, home)
            area = (row.get("context") or {}).get("area")
            items.append(Item(row["text"], lang, (row["intent"],), row["slots"], key, area, row["source_file"]))
    if "slurp" in sets:
        raw_homes["slurp"] = {"builtin": SLURP_HOME}
        for line in (DATA / "slurp_devel.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            want = SLURP_MAP.get(row["intent"], (None,))
            items.append(Item(row["sentence"], "en", want, {}, "slurp", SLURP_AREA, f"slurp {row['intent']}"))
    tmp = Path(tempfile.mkdtemp(prefix="nlu_public_"))
    for n, (key, raw) in enumerate(sorted(raw_homes.items())):
        home = load_home(raw["builtin"]) if "builtin" in raw else load_home(raw)
        homes.loaded[key] = ([hd.device for hd in home.devices], list(home.areas))
        if "builtin" in raw:
            homes.files[key] = Path(home.source)
        else:
            homes.files[key] = tmp / f"home{n}.yaml"
            homes.files[key].write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return items


# ---------------------------------------------------------------------------- scoring
def _norm(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def slot_right(got: Any, want: Any) -> bool:
    options = want if isinstance(want, list) else [want]
    return _norm(got) in {_norm(o) for o in options}


def label(out: dict[str, Any]) -> str | None:
    intent = out.get("intent")
    return intent if intent in DEVICE_INTENTS else NO_ACTION


def score(item: Item, out: dict[str, Any]) -> tuple[bool, bool, bool]:
    """(intent right, intent and slots right strictly, intent and expected slots right)."""
    intent_ok = label(out) in item.intents
    slots = out.get("slots") or {}
    expected_ok = intent_ok and all(k in slots and slot_right(slots[k], v) for k, v in item.slots.items())
    if item.source.startswith("slurp"):
        return intent_ok, intent_ok, intent_ok
    extra = [k for k in HA_SLOTS if k in slots and k not in item.slots]
    return intent_ok, expected_ok and not extra, expected_ok


# ---------------------------------------------------------------------------- running
def run_in_process(
    items: list[Item], homes: Homes, detect: bool = False,
) -> tuple[list[dict[str, Any]], list[float], float]:
    """Every sentence through one Understander per home (as `voicebot nlu` builds it). With
    ``detect``, the understander knows en, de and es (English the default) and detects each
    sentence's language, as `voicebot nlu -l en -l de -l es` does."""
    before = _rss_mb()
    understanders: dict[tuple[str, str], Understander] = {}
    outputs: list[dict[str, Any]] = []
    times: list[float] = []
    for item in items:
        key = (item.home, "detect" if detect else item.language)
        if key not in understanders:
            devices, areas = homes.loaded[item.home]
            if detect:
                understanders[key] = Understander(lambda d=devices: d, lambda a=areas: a, language="en",
                                                  languages=["de", "es"])
            else:
                understanders[key] = Understander(lambda d=devices: d, lambda a=areas: a, language=item.language)
            understanders[key].warm_up()
        understander = understanders[key]
        devices = {d.id: d for d in homes.loaded[item.home][0]}
        start = time.perf_counter()
        u = understander.understand(item.text, None, speaker_area=item.area)
        times.append(time.perf_counter() - start)
        outputs.append(as_json(u, devices))
    return outputs, times, _rss_mb() - before


def _groups(items: list[Item], detect: bool = False) -> Iterator[tuple[tuple[str, str, str | None], list[int]]]:
    groups: dict[tuple[str, str, str | None], list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        groups[(item.home, "detect" if detect else item.language, item.area)].append(n)
    yield from sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))


def run_cli(items: list[Item], homes: Homes, detect: bool = False) -> list[dict[str, Any]]:
    """Every sentence through `voicebot nlu --json --no-context`, one process per home and area."""
    exe = Path(sys.executable).with_name("voicebot")
    outputs: list[dict[str, Any] | None] = [None] * len(items)
    for (home, lang, area), indexes in _groups(items, detect):
        cmd = [str(exe), "nlu", "--json", "--no-context", "--home", str(homes.files[home]), "--language", lang]
        if detect:
            cmd = [*cmd[:-2], "-l", "en", "-l", "de", "-l", "es"]
        if area:
            cmd += ["--area", area]
        text = "".join(items[i].text.replace("\n", " ") + "\n" for i in indexes)
        done = subprocess.run(cmd, input=text, capture_output=True, text=True, check=False, env=os.environ.copy())
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        lines = [json.loads(x) for x in done.stdout.splitlines() if x.strip()]
        if len(lines) != len(indexes):
            raise SystemExit(f"{' '.join(cmd)}: {len(lines)} answers for {len(indexes)} sentences")
        for i, out in zip(indexes, lines, strict=True):
            outputs[i] = out
    return [o for o in outputs if o is not None]


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- report
def report(items: list[Item], outputs: list[dict[str, Any]], failures: Path | None) -> dict[str, Any]:
    by_set: dict[str, list[int]] = defaultdict(list)
    for n, item in enumerate(items):
        by_set["slurp" if item.source.startswith("slurp") else item.language].append(n)
    summary: dict[str, Any] = {}
    lines: list[str] = []
    for name, indexes in by_set.items():
        per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        totals = [0, 0, 0]
        acted_wrongly = 0
        for n in indexes:
            item, out = items[n], outputs[n]
            ok = score(item, out)
            for k in range(3):
                totals[k] += ok[k]
            gold = "/".join(str(i) for i in item.intents)
            row = per_intent[gold]
            row[0] += 1
            row[1] += ok[0]
            row[2] += ok[1]
            if None in item.intents and out.get("intent") in CHANGING and out.get("devices") and out.get("confidence", 0) >= 0.5:
                acted_wrongly += 1  # the dialogue would act (confidence at or above min_confidence)
            if not ok[1]:
                lines.append(
                    f"[{name}] {item.text!r}  ({item.source}, area={item.area})\n"
                    f"    want {gold} {item.slots}\n"
                    f"    got  {out.get('intent')} {out.get('slots')} devices={[d['name'] for d in out.get('devices', [])]}"
                    f" cand={len(out.get('candidates', []))} conf={out.get('confidence')} by {out.get('matched')}"
                )
        total = len(indexes)
        language_ok = sum(outputs[n].get("language") == items[n].language for n in indexes)
        summary[name] = {
            "n": total, "intent": totals[0] / total, "intent_slots": totals[1] / total,
            "intent_expected_slots": totals[2] / total, "wrong_actions": acted_wrongly,
        }
        print(f"\n== {name}: {total} sentences")
        print(f"   intent {100 * totals[0] / total:5.1f}%   intent+slots {100 * totals[1] / total:5.1f}% (strict)"
              f"   {100 * totals[2] / total:5.1f}% (expected slots right, extra allowed)")
        print(f"   language {100 * language_ok / total:5.1f}% ({items[indexes[0]].language})")
        if name == "slurp":
            print(f"   device actions on sentences that are no command for a device here: {acted_wrongly}")
        print(f"   {'intent':<34} {'n':>5} {'intent':>7} {'+slots':>7}")
        for gold, (count, i_ok, s_ok) in sorted(per_intent.items(), key=lambda kv: -kv[1][0]):
            print(f"   {gold:<34} {count:5d} {100 * i_ok / count:6.1f}% {100 * s_ok / count:6.1f}%")
    if failures is not None:
        failures.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\n{len(lines)} failures written to {failures}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["en", "de", "es", "slurp"], help="en de es slurp")
    parser.add_argument("--failures", type=Path, help="write every miss here")
    parser.add_argument("--json-out", type=Path, help="write each sentence's `voicebot nlu --json` object here")
    parser.add_argument("--via-cli", action="store_true", help="run `voicebot nlu --json` (one process per home and area)")
    parser.add_argument("--detect", action="store_true",
                        help="detect each sentence's language (en default, de and es known) instead of giving it")
    parser.add_argument("--limit", type=int, help="only the first N sentences of each set (a quick look)")
    args = parser.parse_args()

    homes = Homes()
    items = load_items(args.sets, homes)
    if args.limit:
        kept: dict[str, int] = defaultdict(int)
        limited = []
        for item in items:
            key = "slurp" if item.source.startswith("slurp") else item.language
            if kept[key] < args.limit:
                kept[key] += 1
                limited.append(item)
        items = limited
    if args.via_cli:
        start = time.perf_counter()
        outputs = run_cli(items, homes, args.detect)
        print(f"{len(items)} sentences through `voicebot nlu --json` in {time.perf_counter() - start:.0f} s")
    else:
        outputs, times, memory = run_in_process(items, homes, args.detect)
        ms = sorted(1000 * t for t in times)
        print(f"{len(items)} sentences: p50 {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * (len(ms) - 1))]:.1f} ms,"
              f" max {ms[-1]:.0f} ms per sentence; understanders and data add {memory:.0f} MB RSS")
    if args.json_out:
        args.json_out.write_text("".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in outputs),
                                 encoding="utf-8")
    report(items, outputs, args.failures)


if __name__ == "__main__":
    main()
