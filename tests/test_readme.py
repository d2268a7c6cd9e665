"""The README's intent reference is the one the schema generates (docs cannot drift from code)."""
from __future__ import annotations

from pathlib import Path

from hpnctl.intent.reference import BEGIN, END, reference_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_intent_reference_is_current() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text, "README lost the intent reference markers"
    embedded = text[text.index(BEGIN): text.index(END) + len(END)]
    assert embedded == reference_markdown(), "README intent reference is stale: run `hpnctl schema --update README.md`"


def test_readme_has_exactly_two_setup_commands() -> None:
    text = README.read_text()
    section = text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    blocks = section.count("```sh")
    assert blocks == 2, f"the set-up section must show exactly two commands, found {blocks}"
