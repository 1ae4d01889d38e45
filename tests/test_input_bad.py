"""Bad input fails closed with one line that names the file and the place to fix."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.adapters.base import Submission, decode_text, load_proposal, read_input
from orchestrator.errors import InputError, UsageError
from orchestrator.models import Source

SUBMISSION = Submission(source=Source.AUTOMATION, actor="ci")


def plan(*changes: dict[str, Any], **top: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "configuration": {"root_module": {}},
    }
    document.update(top)
    return document


def change(address: str = "aws_s3_bucket.b", **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "address": address,
        "mode": "managed",
        "type": "aws_s3_bucket",
        "name": "b",
        "change": {"actions": ["create"], "before": None, "after": {"bucket": "b"}},
    }
    entry["change"].update(fields.pop("change", {}))
    entry.update(fields)
    return entry


def encoded(document: Any) -> bytes:
    return json.dumps(document, indent=2).encode()


TRUNCATED = encoded(plan(change(), change("aws_s3_bucket.c")))[:-140]
DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_VALUE = encoded(plan()).replace(
    b'"resource_changes": []',
    b'"resource_changes": [{"address": "a.b", "type": "a", "change": {"actions": ["create"], '
    + b'"after": '
    + b'{"a": ' * 600
    + b"1"
    + b"}" * 600
    + b"}}]",
)

CASES = [
    ("truncated-json", TRUNCATED, "auto",
     "invalid JSON at line 32 column 5: Expecting property name enclosed in double quotes"),
    ("truncated-one-line", b'{"format_version": "1.2", "resource_changes": [',
     "auto", "invalid JSON at line 1 column 48: Expecting value"),
    ("nan", b'{"format_version": "1.2", "planned_values": {"x": NaN}}',
     "auto", "invalid JSON: NaN is not a JSON value"),
    ("deeply-nested", DEEP, "auto", "nested too deeply"),
    ("value-too-deep-to-store", DEEP_VALUE, "auto",
     "resource_changes[0].change: after cannot be reviewed: Recursion error"),
    ("json-object-not-a-plan", b'{"foo": 1}', "auto",
     "not a Terraform plan, Kubernetes manifest, diff or SQL migration (use --kind to say which)"),
    ("json-list", b"[1, 2]", "auto", "not a Terraform plan, Kubernetes manifest"),
    ("plain-text", b"hello\n", "auto", "not a Terraform plan, Kubernetes manifest"),
    ("object-as-terraform", b'{"foo": 1}', "terraform", "not a Terraform plan (no format_version)"),
    ("list-as-terraform", b"[1, 2]", "terraform", "not a Terraform plan (no format_version)"),
    ("format-2", encoded(plan(format_version="2.0")), "auto",
     "format_version 2.0 is newer than any Terraform has published (0.x, 1.x)"),
    ("format-garbage", encoded(plan(format_version="latest")), "auto",
     "format_version: unrecognised format_version 'latest'"),
    ("format-number", encoded(plan(format_version=1.2)), "auto",
     "format_version: expected a string, got number"),
    ("state-not-plan", encoded({"format_version": "1.0", "terraform_version": "1.9.5",
                                "values": {"root_module": {}}}),
     "auto", "this is a Terraform state, not a plan"),
    ("whitespace-only", b"  \n\t\n", "auto", "empty input"),
    ("unknown-action", encoded(plan(change(), change(), change(change={"actions": ["explode"]}))),
     "auto", "resource_changes[2].change.actions: unknown action ['explode']"),
    ("actions-not-a-list", encoded(plan(change(change={"actions": "create"}))), "auto",
     "resource_changes[0].change.actions: expected a list, got string"),
    ("action-not-a-string", encoded(plan(change(change={"actions": ["create", 1]}))), "auto",
     "resource_changes[0].change.actions[1]: expected a string, got number"),
    ("changes-not-a-list", encoded(plan(resource_changes={"a": 1})), "auto",
     "resource_changes: expected a list, got object"),
    ("change-not-an-object", encoded(plan(change() | {"change": []})), "auto",
     "resource_changes[0].change: expected an object, got list"),
    ("address-missing", encoded(plan({"type": "t", "change": {"actions": ["create"]}})), "auto",
     "resource_changes[0].address: expected a non-empty string, got null"),
    ("unknown-mode", encoded(plan(change(mode="ephemeral"))), "auto",
     "resource_changes[0].mode: unknown mode 'ephemeral'"),
    ("name-not-a-string", encoded(plan(change(name=7))), "auto",
     "resource_changes[0].name: expected a string, got number"),
    ("mirror-not-a-mirror", encoded(plan(change(change={"after_sensitive": "yes"}))), "auto",
     "resource_changes[0].change.after_sensitive: expected a boolean, object or list, got string"),
    ("replace-path-step", encoded(plan(change(change={"replace_paths": [["a", None]]}))), "auto",
     "resource_changes[0].change.replace_paths[0][1]: expected a string or an integer, got null"),
    ("complete-not-bool", encoded(plan(complete="yes")), "auto",
     "complete: expected a boolean, got string"),
    ("depends-on-not-a-list", encoded(plan(configuration={"root_module": {"resources": [
        {"address": "a.b", "depends_on": "c.d"}]}})), "auto",
     "configuration.root_module.resources[0].depends_on: expected a list, got string"),
    ("module-call-not-an-object", encoded(plan(configuration={"root_module": {
        "module_calls": {"net work": 3}}})), "auto",
     'configuration.root_module.module_calls["net work"]: expected an object, got number'),
    ("sensitive-values-not-a-mirror", encoded(plan(planned_values={"root_module": {"resources": [
        {"address": "a.b", "values": {}, "sensitive_values": 1}]}})), "auto",
     "planned_values.root_module.resources[0].sensitive_values: expected a boolean, object"),
    ("prior-state-resources", encoded(plan(prior_state={"values": {"root_module": {
        "resources": {"a": 1}}}})), "auto",
     "prior_state.values.root_module.resources: expected a list, got object"),
    ("output-change-not-an-object", encoded(plan(output_changes={"o": "x"})), "auto",
     "output_changes.o: expected an object, got string"),
    ("not-utf8", b'{"format_version": "1.2", "x": "caf\xe9"}', "auto",
     "not valid UTF-8 text at byte offset 35 (invalid continuation byte)"),
    ("bad-utf16", b"\xff\xfe{\x00\x00\xd8", "auto", "not valid UTF-16 text at byte offset 4"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "kind", "message"),
    [pytest.param(content, kind, message, id=name) for name, content, kind, message in CASES],
)
def test_bad_input_is_one_line_naming_file_and_place(
    tmp_path: Path, content: bytes, kind: str, message: str
) -> None:
    """Every malformed input is an InputError with one line: the file, the place, the fault."""
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    data, origin = read_input(str(path), max_bytes=1 << 20)
    with pytest.raises(InputError) as caught:
        load_proposal(data, origin, SUBMISSION, kind=kind)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: ")
    assert message in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "empty input"),
        ("missing", "no such file"),
        ("directory", "is a directory, not a file"),
        ("large", "input is 2.0 KB, over the 1.0 KB limit (max_input_bytes in commander.yaml)"),
    ],
)
def test_unreadable_files_are_refused_before_parsing(
    tmp_path: Path, setup: str, message: str
) -> None:
    """Empty, missing, directory and oversized inputs stop at reading, with the file named."""
    path = tmp_path / "input.json"
    if setup == "empty":
        path.write_bytes(b"")
    elif setup == "directory":
        path.mkdir()
    elif setup == "large":
        path.write_bytes(b" " * 2048)
    with pytest.raises(InputError) as caught:
        read_input(str(path), max_bytes=1024)
    assert str(caught.value) == f"{path}: {message}"


def test_standard_input_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe larger than the limit fails once the limit is passed, without reading it all."""
    stream = io.BytesIO(b"{" * 10_000)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stream))
    with pytest.raises(InputError) as caught:
        read_input("-", max_bytes=100)
    assert str(caught.value) == (
        "<stdin>: input is over the 100 B limit (max_input_bytes in commander.yaml)"
    )
    assert stream.tell() <= 101


def test_standard_input_is_read_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """`-` reads standard input and names it <stdin> in every message."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"foo": 1}')))
    data, origin = read_input("-", max_bytes=100)
    assert (data, origin) == (b'{"foo": 1}', "<stdin>")
    with pytest.raises(InputError, match=r"^<stdin>: not a Terraform plan, Kubernetes"):
        load_proposal(data, origin, SUBMISSION)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b'{"a": "\xc3\xa9"}', '{"a": "é"}'),
        (b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'),
        ('{"a": "é"}'.encode("utf-16"), '{"a": "é"}'),
        ('{"a": "é"}'.encode("utf-16-be"), '{"a": "é"}'),
        ('{"a": "é"}'.encode("utf-16-le"), '{"a": "é"}'),
        ('{"a": "é"}'.encode("utf-32"), '{"a": "é"}'),
        ('{"a": "é"}'.encode("utf-32-be"), '{"a": "é"}'),
    ],
)
def test_unicode_encodings_windows_tools_write_are_decoded(data: bytes, text: str) -> None:
    """UTF-8 with or without BOM, UTF-16 and UTF-32 (with BOM or recognisable) all decode."""
    assert decode_text(data, "p.json") == text


def test_unknown_kind_is_a_usage_error() -> None:
    """A --kind commander does not know is wrong usage (exit 2), not bad input."""
    with pytest.raises(UsageError, match="unknown kind 'yaml'"):
        load_proposal(b"{}", "p.json", SUBMISSION, kind="yaml")
