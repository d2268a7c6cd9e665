"""The README's per-platform feature matrix is the one the platform files generate."""
from __future__ import annotations

from pathlib import Path

from hpnctl.feature_matrix import BEGIN, END, feature_matrix_markdown, update_file
from hpnctl.platforms import FEATURES, get_platform, known_platforms

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_feature_matrix_is_current() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text, "README lost the feature matrix markers"
    embedded = text[text.index(BEGIN): text.index(END) + len(END)]
    assert embedded == feature_matrix_markdown(), \
        "README feature matrix is stale: run `python -m hpnctl.feature_matrix --update README.md`"


def test_each_cell_is_yes_or_the_platform_reason() -> None:
    table = feature_matrix_markdown().splitlines()
    header = [c.strip() for c in table[2].strip("|").split("|")]
    assert header[1:] == [f"`{p}`" for p in known_platforms()]
    rows = table[4:4 + len(FEATURES)]
    for feature, row in zip(FEATURES, rows):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[0].startswith(f"`{feature}`")
        for platform, cell in zip(known_platforms(), cells[1:]):
            support = get_platform(platform).supports(feature)
            assert cell == ("yes" if support.supported else " ".join(support.reason.split())), (feature, platform)


def test_update_rewrites_only_between_the_markers(tmp_path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(f"# x\n\nbefore\n{BEGIN}\nold\n{END}\nafter\n")
    assert update_file(doc) is True
    text = doc.read_text()
    assert text.startswith("# x\n\nbefore\n") and text.endswith("\nafter\n")
    assert feature_matrix_markdown() in text
    assert update_file(doc) is False
