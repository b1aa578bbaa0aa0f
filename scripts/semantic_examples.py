"""Writes voicebot/understand/semantic/dev_examples.json from the development data.

    python scripts/semantic_examples.py [--data ../shared/data/nlu]

Only the development files are read (Home Assistant intents tests, even sentence groups; SLURP
devel); the held-out halves are not here and must never be added. Both are CC BY 4.0:
Home Assistant intents contributors; Bastianelli et al., "SLURP: A Spoken Language
Understanding Resource Package", EMNLP 2020.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "voicebot" / "understand" / "semantic" / "dev_examples.json"
# SLURP iot intents in Home Assistant's terms: (intent, domain, sign). Coffee machines and
# everything outside the iot scenario are no device request here.
SLURP = {
    "hue_lightoff": ("HassTurnOff", "light", 0),
    "hue_lighton": ("HassTurnOn", "light", 0),
    "hue_lightdim": ("HassLightSet", "light", -1),
    "hue_lightup": ("HassLightSet", "light", 1),
    "hue_lightchange": ("HassLightSet", "light", 0),
    "cleaning": ("HassVacuumStart", "vacuum", 0),
    "wemo_on": ("HassTurnOn", "switch", 0),
    "wemo_off": ("HassTurnOff", "switch", 0),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "nlu")
    args = parser.parse_args()
    out: dict[str, list[list[object]]] = {}
    for lang in ("en", "de", "es"):
        rows = []
        for line in (args.data / f"ha_intents_tests_dev_{lang}.jsonl").read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            domain = item.get("slots", {}).get("domain")
            if isinstance(domain, list):
                domain = domain[0] if len(domain) == 1 else None
            rows.append([item["text"], item["intent"], domain, 0, f"ha:{lang}:{item['source_file']}:{item['group_index']}"])
        out[lang] = rows
    for line in (args.data / "slurp_devel.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        intent = str(item["intent"]).removeprefix("iot_")
        label = SLURP.get(intent, ("NONE", None, 0))
        out["en"].append([item["sentence"], *label, f"slurp:{item['slurp_id']}"])
    for rows in out.values():
        rows.sort(key=lambda r: (str(r[0]), str(r[4])))
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: " + ", ".join(f"{k} {len(v)}" for k, v in out.items()))


if __name__ == "__main__":
    main()
