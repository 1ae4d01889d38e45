"""Every exception commander raises on purpose, and the exit code each maps to.

    CommanderError
    ├── UserError                 the caller can fix it: exit 1 (bad input) or 2 (usage)
    │   ├── InputError            a file that cannot be read as the kind it claims to be
    │   ├── ConfigError           a config, policy or topology file that does not validate
    │   │   └── PluginError       a reviewer plugin that fails validation when registered
    │   ├── UsageError            flags that do not fit together (exit 2)
    │   │   └── IdentityError     a name that cannot be an identity: blank, mixed scripts (HTTP 422)
    │   ├── DecisionNotFound      no recorded decision (or escalation) has that id or prefix
    │   ├── AmbiguousDecisionId   an id prefix that matches several decisions
    │   ├── Refused               a gate action the rules forbid (self-approval, stale plan, …)
    │   ├── NoStore               no audit store where --db points (only writers create one)
    │   └── CheckpointError       a checkpoint or key file that is unreadable, altered or foreign
    └── ReviewRunError            commander itself could not finish: exit 1
        ├── ReviewerError         one reviewer crashed, timed out or broke its contract
        ├── RegoEvaluationError   a Rego module would not compile or evaluate (policies/rego.py)
        └── StoreError            the audit store is unreachable or refused a write

Two exceptions never leave the gate (orchestrator/gate): `Unsettled` (the
actor's facts changed while a decision was being recorded: decide again) and
`AlreadyDecided` (the same submission was recorded by another request
meanwhile: answer with that decision). Neither is a CommanderError, so the
error boundaries would report one that escaped as an internal error.

Errors carry the place they happened (a file and a JSON path, a reviewer's
name) so the one-line message at the CLI boundary says what to fix.
"""

from __future__ import annotations

EXIT_APPROVE = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_ESCALATE = 3
EXIT_REJECT = 4


class CommanderError(Exception):
    """Base of every error commander raises deliberately."""

    exit_code = EXIT_FAILURE


class UserError(CommanderError):
    """Bad input, bad configuration or wrong usage: the message says what to fix."""


class _Placed(UserError):
    """A user error about one file (and a place in it)."""

    def __init__(self, source: str, message: str, *, where: str | None = None) -> None:
        self.source = source
        self.where = where
        place = f"{source}: {where}" if where else source
        super().__init__(f"{place}: {message}")


class InputError(_Placed):
    """An input file that cannot be reviewed as given."""


class ConfigError(_Placed):
    """A configuration, policy or topology file that does not validate."""


class PluginError(ConfigError):
    """A reviewer plugin that fails validation when it is registered."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"reviewer {plugin!r}", message)


class UsageError(UserError):
    """Options that do not fit together."""

    exit_code = EXIT_USAGE


class IdentityError(UsageError):
    """A person's name refused by orchestrator/identity.py: blank, or scripts mixed to deceive."""


class DecisionNotFound(UserError):
    """No recorded decision has the id (or id prefix) that was asked for."""


class AmbiguousDecisionId(UserError):
    """An id prefix that matches more than one recorded decision."""


class Refused(UserError):
    """A gate action the rules forbid: a self-approval, a stale plan, an expired escalation."""


class NoStore(UserError):
    """No audit store at the URL given, for a command that reads one: nothing is created."""


class CheckpointError(_Placed):
    """A checkpoint or key that cannot be read, is not signed by the trusted key, or was altered."""


class ReviewRunError(CommanderError):
    """commander could not complete a review or record it."""


class ReviewerError(ReviewRunError):
    """A reviewer crashed, timed out or returned something that is not a Verdict."""

    def __init__(self, reviewer: str, message: str) -> None:
        self.reviewer = reviewer
        super().__init__(f"reviewer {reviewer!r}: {message}")


class StoreError(ReviewRunError):
    """The audit store is unreachable, or refused or lost a write."""
