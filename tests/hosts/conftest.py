"""Fixtures of the host tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from hosts_helpers import lint_messages, write_intent


@pytest.fixture
def lint_case(tmp_path: Path):
    """lint_case(hosts=…, replace=…) → the L3xx messages of base_intent.yml edited that way."""
    def run(hosts: str = "", replace: dict[str, str] | None = None) -> list[str]:
        return lint_messages(write_intent(tmp_path, hosts, replace))
    return run
