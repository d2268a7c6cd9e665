"""The one small exception tree of hpnctl.

Every error a user can cause is an HpnctlError; the CLI prints it without a
traceback.  Anything else reaching the CLI is a bug in hpnctl.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from hpnctl.diagnostics import Diagnostic


class HpnctlError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = 1


class IntentError(HpnctlError):
    """The intent is invalid; carries every diagnostic that was collected."""

    def __init__(self, diagnostics: list["Diagnostic"]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"intent has {len(errors)} error(s)")


class RenderError(HpnctlError):
    """A template failed: names the template file and line."""


class PlatformError(HpnctlError):
    """Unknown platform, bad platform data file."""


class ConnectError(HpnctlError):
    """A device could not be reached or authenticated."""


class CommitError(HpnctlError):
    """A device refused a candidate or a commit."""


class RollbackError(HpnctlError):
    """A rollback failed: the device may be on neither config; needs a human."""


class LabError(HpnctlError):
    """The lab runtime (netns or containerlab) failed."""


class ModelValidationError(HpnctlError):
    """A rendered config does not satisfy the vendor's published model."""


class LockError(HpnctlError):
    """Another apply holds the fabric lock."""
