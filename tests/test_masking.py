"""Masking secrets: sensitivity mirrors, secret-looking keys and credential-looking strings."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.adapters.masking import (
    SENSITIVE,
    Masker,
    collect_marked_strings,
    format_path,
    scrub_text,
    true_paths,
)


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("master_password", True),
        ("DB_PASSWORD", True),
        ("client_secret", True),
        ("clientSecret", True),
        ("secret_string", True),
        ("private_key_pem", True),
        ("access_key", True),
        ("AccessKey", True),
        ("apiKey", True),
        ("auth_token", True),
        ("tokens", True),
        ("password_wo", True),
        ("credentials_json", True),
        ("primary_connection_string", True),
        ("password_length", False),
        ("password_reset_required", False),
        ("secret_arn", False),
        ("secret_name", False),
        ("kms_key_id", False),
        ("key_name", False),
        ("token_endpoint", False),
        ("authorization", False),
        ("username", False),
        ("partition_key", False),
    ],
)
def test_key_names_that_say_secret_are_sensitive(key: str, sensitive: bool) -> None:
    """Keys ending in a secret word (plus value-ish suffixes) mask; names of secrets do not."""
    assert Masker().is_sensitive_key(key) is sensitive


def test_sensitive_key_words_are_configurable() -> None:
    """The key words are a setting: an organisation can add its own, or drop the defaults."""
    masker = Masker(("pin",), secrets=())
    assert masker.is_sensitive_key("card_pin")
    assert not masker.is_sensitive_key("password")
    assert not Masker(()).is_sensitive_key("password")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMAAA\n",
         f"export AWS_ACCESS_KEY_ID={SENSITIVE}\n"),
        ("key AKIAIOSFODNN7EXAMAAA used", f"key {SENSITIVE} used"),
        ("ASIAIOSFODNN7EXAMAAAX", "ASIAIOSFODNN7EXAMAAAX"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG", f"AWS_SECRET_ACCESS_KEY={SENSITIVE}"),
        ("DB_PASSWORD='correct horse battery'", f"DB_PASSWORD='{SENSITIVE}'"),
        ('{"password": "correct horse"}', f'{{"password": "{SENSITIVE}"}}'),
        ("api_key: abc123def", f"api_key: {SENSITIVE}"),
        ('password = "hcl-literal"', f'password = "{SENSITIVE}"'),
        ("postgres://app:hunter2secret@db:5432/x", f"postgres://app:{SENSITIVE}@db:5432/x"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\ntail",
         f"{SENSITIVE}\ntail"),
        ("-----BEGIN PRIVATE KEY-----\nMIIE truncated", SENSITIVE),
        ("ghp_" + "a" * 36, SENSITIVE),
        ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
         "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"),
        ('"Action": "secretsmanager:GetSecretValue"', '"Action": "secretsmanager:GetSecretValue"'),
        ("token.actions.githubusercontent.com:sub", "token.actions.githubusercontent.com:sub"),
        ("https://example.com/path?x=1", "https://example.com/path?x=1"),
        ("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
         "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----"),
        ("short", "short"),
    ],
)  # fmt: skip
def test_credentials_inside_strings_are_masked(text: str, expected: str) -> None:
    """Access keys, PEM private keys, secret assignments and URL passwords are cut out of text."""
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("value", "mask", "expected", "paths"),
    [
        ({"a": "x", "b": "y"}, {"a": True}, {"a": SENSITIVE, "b": "y"}, [("a",)]),
        ({"a": {"b": [1, 2]}}, {"a": True}, {"a": SENSITIVE}, [("a",)]),
        ({"a": [{"b": "s"}, {"b": "t"}]}, {"a": [{}, {"b": True}]},
         {"a": [{"b": "s"}, {"b": SENSITIVE}]}, [("a", 1, "b")]),
        ({"n": 5, "f": False}, {"n": True, "f": True}, {"n": SENSITIVE, "f": SENSITIVE},
         [("n",), ("f",)]),
        ({"a": None}, {"a": True}, {"a": None}, []),
        ("whole", True, SENSITIVE, [()]),
        (None, True, None, []),
        ({"a": "x"}, False, {"a": "x"}, []),
        ({"a": "x"}, {"a": "yes"}, {"a": SENSITIVE}, [("a",)]),
        ({"password": "p4ss", "tags": {"Token": "t0k"}}, None,
         {"password": SENSITIVE, "tags": {"Token": SENSITIVE}}, [("password",), ("tags", "Token")]),
        ({"password": {"constant_value": "lit", "references": ["var.p"]}}, None,
         {"password": {"constant_value": SENSITIVE, "references": ["var.p"]}},
         [("password", "constant_value")]),
        ({"password": ""}, None, {"password": ""}, []),
        ({"password_length": 16, "secrets": ["a1", "b2"]}, None,
         {"password_length": 16, "secrets": [SENSITIVE, SENSITIVE]},
         [("secrets", 0), ("secrets", 1)]),
    ],
)  # fmt: skip
def test_mirrors_and_key_names_mask_the_right_places(
    value: Any, mask: Any, expected: Any, paths: list[tuple[Any, ...]]
) -> None:
    """Truthy mirror leaves mask whole values (not nulls); secret keys mask their strings."""
    found: list[tuple[Any, ...]] = []
    assert Masker().mask(value, mask, paths=found) == expected
    assert found == paths


def test_mask_leaves_its_input_alone_and_mask_in_place_rewrites_it() -> None:
    """`mask` returns a copy; `mask_in_place` is for documents the caller owns."""
    value = {"password": "hunter22"}
    assert Masker().mask(value) == {"password": SENSITIVE}
    assert value == {"password": "hunter22"}
    assert Masker().mask_in_place(value) is value
    assert value == {"password": SENSITIVE}


def test_known_secrets_are_swept_wherever_they_are_copied() -> None:
    """A value marked sensitive in one place is masked where it is copied unmarked."""
    document = {"a": {"data": "dsn-value-42"}, "b": {"copy": "dsn-value-42", "short": "pin"}}
    secrets: set[str] = set()
    collect_marked_strings(document, {"a": {"data": True}, "b": {"short": True}}, secrets)
    assert secrets == {"dsn-value-42"}
    masked = Masker(secrets=secrets).mask(document)
    assert masked == {"a": {"data": SENSITIVE}, "b": {"copy": SENSITIVE, "short": "pin"}}


class _Text(str):
    """A str subclass, as a YAML loader or a plugin might hand one over."""


class _Items(list[Any]):
    """A list subclass."""


def test_subclasses_of_json_types_are_masked_like_the_types() -> None:
    """The walk tells plain JSON types by identity for speed; subclasses are not skipped."""
    value = {
        "config": OrderedDict(password=_Text("hunter22"), name="web"),
        "env": _Items([_Text("DB_PASSWORD=hunter22"), OrderedDict(token="t0k3n-value")]),
        "note": _Text("AKIAABCDEFGHIJKLMNOP"),
        "plain": {"deep": [_Text("x"), {"api_key": "k3y-value"}]},
    }
    paths: list[tuple[Any, ...]] = []
    assert Masker().mask_in_place(value, None, paths=paths) == {
        "config": {"password": SENSITIVE, "name": "web"},
        "env": [f"DB_PASSWORD={SENSITIVE}", {"token": SENSITIVE}],
        "note": SENSITIVE,
        "plain": {"deep": ["x", {"api_key": SENSITIVE}]},
    }
    assert paths == [
        ("config", "password"),
        ("env", 0),
        ("env", 1, "token"),
        ("note",),
        ("plain", "deep", 1, "api_key"),
    ]


@pytest.mark.parametrize(
    ("mask", "paths"),
    [
        ({"id": True, "arn": True}, ["arn", "id"]),
        ({"tags": {"a.b": True}, "ebs": [{}, {"size": True}]}, ["ebs.1.size", 'tags."a.b"']),
        ({"id": False, "x": {}}, []),
        (True, ["*"]),
        (False, []),
        (None, []),
    ],
)
def test_true_paths_are_sorted_dotted_leaves(mask: Any, paths: list[str]) -> None:
    """after_unknown becomes sorted dotted paths; a wholly unknown value is `*`."""
    assert true_paths(mask) == paths


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "*"),
        (("a", 0, "b"), "a.0.b"),
        (("tags", "kubernetes.io/role"), 'tags."kubernetes.io/role"'),
    ],
)
def test_paths_render_as_dotted_text(path: tuple[Any, ...], text: str) -> None:
    """Paths are dotted; keys that are not plain names are quoted so they stay unambiguous."""
    assert format_path(path) == text


scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
leaf_masks = st.sampled_from([True, False, None, 1, "yes", 0, "", {}, []])


@st.composite
def mask_for(draw: st.DrawFn, value: Any) -> Any:
    """A mirror shaped like `value`, with random marks at random depths."""
    if draw(st.integers(0, 3)) == 0:
        return draw(leaf_masks)
    if isinstance(value, dict):
        return {k: draw(mask_for(v)) for k, v in value.items() if draw(st.booleans())}
    if isinstance(value, list):
        return [draw(mask_for(v)) for v in value[: draw(st.integers(0, len(value)))]]
    return draw(leaf_masks)


@st.composite
def values_with_masks(draw: st.DrawFn) -> tuple[Any, Any]:
    value = draw(json_values)
    return value, draw(mask_for(value))


def assert_marked_values_gone(value: Any, mask: Any, masked: Any) -> None:
    if not isinstance(mask, dict | list) and mask:
        assert masked == (None if value is None else SENSITIVE)
    elif isinstance(mask, dict) and isinstance(value, dict):
        assert isinstance(masked, dict)
        for key, child in mask.items():
            if key in value:
                assert_marked_values_gone(value[key], child, masked[key])
    elif isinstance(mask, list) and isinstance(value, list):
        assert isinstance(masked, list)
        for original, child, result in zip(value, mask, masked, strict=False):
            assert_marked_values_gone(original, child, result)


@given(values_with_masks())
def test_no_value_under_a_sensitive_mark_survives(case: tuple[Any, Any]) -> None:
    """Whatever the shapes, every non-null value under a truthy mirror leaf is masked."""
    value, mask = case
    assert_marked_values_gone(value, mask, Masker().mask(value, mask))


@given(values_with_masks())
def test_masking_twice_changes_nothing_more(case: tuple[Any, Any]) -> None:
    """Masking is idempotent, so re-masking a stored record cannot corrupt it."""
    value, mask = case
    once = Masker().mask(value, mask)
    assert Masker().mask(once, mask) == once
