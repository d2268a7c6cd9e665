"""Diagnostics: errors and warnings with a source position, printed compiler-style.

`file:line:col: error[CODE]: message (at data.path)` followed by an indented hint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Position:
    file: str
    line: int  # 1-based
    col: int  # 1-based


@dataclass
class Diagnostic:
    severity: Severity
    code: str
    message: str
    path: str = ""  # dotted data path, e.g. networks.compute.qos.classes.alltoall.dscp
    position: Position | None = None
    hint: str = ""
    device: str = ""  # set for per-device findings (unsupported features)

    def format(self) -> str:
        where = f"{self.position.file}:{self.position.line}:{self.position.col}: " if self.position else ""
        text = f"{where}{self.severity}[{self.code}]: {self.message}"
        if self.path:
            text += f" (at {self.path})"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def as_dict(self) -> dict:
        d = {"severity": self.severity, "code": self.code, "message": self.message, "path": self.path}
        if self.position:
            d.update(file=self.position.file, line=self.position.line, col=self.position.col)
        if self.hint:
            d["hint"] = self.hint
        if self.device:
            d["device"] = self.device
        return d


@dataclass
class DiagnosticLog:
    """Collects diagnostics so that all problems are reported at once."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def error(self, code: str, message: str, **kw) -> None:
        self.items.append(Diagnostic("error", code, message, **kw))

    def warning(self, code: str, message: str, **kw) -> None:
        self.items.append(Diagnostic("warning", code, message, **kw))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        def key(d: Diagnostic):
            p = d.position
            return (p.file, p.line, p.col) if p else ("~", 0, 0)

        return sorted(self.items, key=key)
