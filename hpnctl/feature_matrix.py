"""The per-platform feature matrix (markdown), generated from hpnctl/platforms/<os>.yml.

One row per intent feature, one column per platform; a cell says `yes` when the platform
enforces the feature, else the reason the platform file gives (the same text `hpnctl
validate` prints).  README.md embeds the table between BEGIN and END; refresh it with
`python -m hpnctl.feature_matrix --update README.md`.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from hpnctl.platforms import FEATURES, get_platform, known_platforms

BEGIN = "<!-- BEGIN FEATURE MATRIX -->"
END = "<!-- END FEATURE MATRIX -->"

# What the intent asks for when it needs the feature (the row headings).
FEATURE_TEXT = {
    "bgp": "`bgp` — eBGP underlay (`routing.bgp`)",
    "bfd": "`bfd` — BFD on every session (`routing.bfd`)",
    "ecmp-hash": "`ecmp-hash` — ECMP hash fields (`routing.ecmp`)",
    "scheduler": "`scheduler` — strict / DWRR queues (`qos.classes.*.scheduler`)",
    "buffers": "`buffers` — per-class reserve / alpha (`qos.classes.*.buffer`)",
    "ecn": "`ecn` — ECN marking per class (`qos.classes.*.ecn`)",
    "pfc": "`pfc` — lossless classes (`qos.classes.*.lossless`)",
    "pfc-watchdog": "`pfc-watchdog` — PFC storm watchdog (`qos.pfc.watchdog`)",
    "adaptive-routing": "`adaptive-routing` — load-aware path choice (`adaptive_routing`)",
}


def _cell(text: str) -> str:
    """A markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def feature_matrix_markdown(platforms: list[str] | None = None) -> str:
    """The table between the README markers (markers included)."""
    names = platforms if platforms is not None else known_platforms()
    loaded = [get_platform(n) for n in names]
    lines = [BEGIN, "", "| intent feature | " + " | ".join(f"`{p.name}`" for p in loaded) + " |",
             "|---|" + "---|" * len(loaded)]
    for feature in FEATURES:
        cells = []
        for p in loaded:
            support = p.supports(feature)
            cells.append("yes" if support.supported else _cell(support.reason))
        lines.append(f"| {FEATURE_TEXT.get(feature, f'`{feature}`')} | " + " | ".join(cells) + " |")
    lines += ["", END]
    return "\n".join(lines)


def update_file(path: Path | str) -> bool:
    """Replace the table between the markers in `path`; True when the file changed."""
    path = Path(path)
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no feature matrix markers ({BEGIN} … {END})")
    new = text[: text.index(BEGIN)] + feature_matrix_markdown() + text[text.index(END) + len(END):]
    if new != text:
        path.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpnctl.feature_matrix", description=__doc__.splitlines()[0])
    parser.add_argument("--update", metavar="FILE", help="rewrite the table between the markers in FILE")
    args = parser.parse_args(argv)
    if args.update:
        changed = update_file(args.update)
        print(f"{args.update}: {'updated' if changed else 'already current'}")
    else:
        print(feature_matrix_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
