"""Reading unified diffs: git diff, format-patch mailboxes, plain diff -u, and broken ones."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters.gitdiff_parse import looks_like_diff, parse_diff_text
from orchestrator.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "diff"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        capture_output=True,
        check=True,
        text=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository with a few files committed."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "a b.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (tmp_path / "café.md").write_text("bonjour\n", encoding="utf-8")
    (tmp_path / "gone.txt").write_text("bye\n", encoding="utf-8")
    (tmp_path / "run.sh").write_text("echo hi\n", encoding="utf-8")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "start")
    return tmp_path


def test_real_git_diff_with_every_kind_of_file_change(repo: Path) -> None:
    """Modified, added, deleted, renamed, mode-changed and binary files, spaces and UTF-8 names."""
    (repo / "a b.txt").write_text("one\n2\nthree\nfour\n", encoding="utf-8")
    (repo / "new.txt").write_text("fresh\n", encoding="utf-8")
    (repo / "gone.txt").unlink()
    _git(repo, "mv", "café.md", "docs.md")
    (repo / "run.sh").chmod(0o755)
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x01\x02")
    _git(repo, "add", "-A")
    parsed = parse_diff_text(_git(repo, "diff", "--cached", "-M"), "d.diff")
    by_path = {f.path: f for f in parsed.files}
    assert set(by_path) == {"a b.txt", "new.txt", "gone.txt", "docs.md", "run.sh", "logo.png"}
    modified = by_path["a b.txt"]
    assert modified.status == "modified"
    assert modified.removed == [(2, "two")]
    assert modified.added == [(2, "2"), (4, "four")]
    assert (by_path["new.txt"].status, by_path["new.txt"].old_path) == ("added", None)
    assert (by_path["gone.txt"].status, by_path["gone.txt"].new_path) == ("deleted", None)
    assert by_path["gone.txt"].removed == [(1, "bye")]
    renamed = by_path["docs.md"]
    assert (renamed.status, renamed.old_path, renamed.similarity) == ("renamed", "café.md", 100)
    assert (by_path["run.sh"].old_mode, by_path["run.sh"].new_mode) == ("100644", "100755")
    assert by_path["logo.png"].binary
    assert not parsed.mailbox


def test_binary_patch_blocks_are_skipped_not_read_as_hunks(repo: Path) -> None:
    """`git diff --binary` base85 blocks are recognised as binary content."""
    (repo / "logo.png").write_bytes(bytes(range(256)) * 4)
    (repo / "a b.txt").write_text("one\n", encoding="utf-8")
    _git(repo, "add", "-A")
    parsed = parse_diff_text(_git(repo, "diff", "--cached", "--binary"), "d.diff")
    by_path = {f.path: f for f in parsed.files}
    assert by_path["logo.png"].binary
    assert by_path["logo.png"].added == []
    assert by_path["a b.txt"].removed == [(2, "two"), (3, "three")]


def test_format_patch_mailbox_gives_subjects_and_every_file(repo: Path) -> None:
    """A two-patch series: subjects without [PATCH n/m], files of both patches."""
    (repo / "a b.txt").write_text("one\ntwo\nthree\nfour\n", encoding="utf-8")
    _git(repo, "commit", "-qam", "Add a fourth line")
    (repo / "gone.txt").write_text("bye now\n", encoding="utf-8")
    _git(
        repo,
        "commit",
        "-qam",
        "Say goodbye properly, with a subject long enough to wrap "
        "over the seventy-eight column limit of mail headers",
    )
    parsed = parse_diff_text(_git(repo, "format-patch", "-2", "--stdout"), "s.mbox")
    assert parsed.mailbox
    assert parsed.subjects == [
        "Add a fourth line",
        "Say goodbye properly, with a subject long enough to wrap over the seventy-eight "
        "column limit of mail headers",
    ]
    assert [f.path for f in parsed.files] == ["a b.txt", "gone.txt"]


def test_plain_diff_u_with_timestamps() -> None:
    """`diff -u old new` output (no git header, timestamps after a tab) is read too."""
    text = (
        "--- app.conf\t2026-01-01 10:00:00.000000000 +0000\n"
        "+++ app.conf\t2026-01-02 10:00:00.000000000 +0000\n"
        "@@ -1,2 +1,2 @@\n port=80\n-debug=true\n+debug=false\n"
    )
    (patch,) = parse_diff_text(text, "u.diff").files
    assert (patch.path, patch.status, patch.added, patch.removed) == (
        "app.conf",
        "modified",
        [(2, "debug=false")],
        [(2, "debug=true")],
    )
    assert looks_like_diff(text)


def test_quoted_paths_and_crlf_lines() -> None:
    """C-quoted paths (octal UTF-8, escapes) and CRLF line ends are read as git means them."""
    text = (
        'diff --git "a/caf\\303\\251 \\"x\\".txt" "b/caf\\303\\251 \\"x\\".txt"\r\n'
        "index 1..2 100644\r\n"
        '--- "a/caf\\303\\251 \\"x\\".txt"\r\n'
        '+++ "b/caf\\303\\251 \\"x\\".txt"\r\n'
        "@@ -1 +1 @@\r\n-a\r\n+b\r\n"
    )
    (patch,) = parse_diff_text(text, "q.diff").files
    assert patch.path == 'café "x".txt'
    assert (patch.added, patch.removed) == ([(1, "b")], [(1, "a")])


BROKEN = [
    (
        "truncated-hunk",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n",
        "hunk at line 4: the diff ends inside a hunk",
    ),
    (
        "short-hunk",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\ngarbage\n",
        "hunk at line 4: the hunk holds fewer lines than its header says",
    ),
    (
        "bad-hunk-header",
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -a +b @@\n",
        "line 4: malformed hunk header",
    ),
    (
        "combined",
        "diff --cc merged.txt\nindex 1,2..3\n@@@ -1,1 -1,1 +1,1 @@@\n",
        "line 1: a combined (merge) diff cannot be reviewed",
    ),
    ("orphan-hunk", "@@ -1 +1 @@\n-a\n+b\n", "line 1: a hunk before any file header"),
    ("unterminated-quote", 'diff --git "a/x b/x\n', "line 1: unterminated quoted path"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_diffs_name_the_line(text: str, message: str) -> None:
    """A diff that does not add up is an input error naming the line, not a shorter change."""
    with pytest.raises(InputError, match=re.escape(message)):
        parse_diff_text(text, "b.diff")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ((FIXTURES / "docs-only.diff").read_text(), True),
        ((FIXTURES / "docs-only.patch").read_text(), True),
        ("apiVersion: v1\nkind: ConfigMap\n", False),
        ("CREATE TABLE t (id int);\n", False),
        ("--- not a diff\njust text\n", False),
        ("# Notes\n\n--- a\n+++ b\nno hunk here\n", False),
    ],
)
def test_diffs_are_recognised_by_content(text: str, expected: bool) -> None:
    """A diff is told apart from manifests, SQL and prose by its own markers."""
    assert looks_like_diff(text) is expected


LINE = st.sampled_from(
    [
        "diff --git a/x b/x",
        "--- a/x",
        "+++ b/x",
        "@@ -1,2 +1,2 @@",
        "@@ -0,0 +1 @@",
        " ctx",
        "+add",
        "-del",
        "\\ No newline at end of file",
        "Binary files a/x and b/x differ",
        "GIT binary patch",
        "literal 3",
        "rename from x",
        "rename to y",
        "From 1234567 Mon",
        "Subject: [PATCH] x",
        "",
        'diff --git "a/q" "b/q"',
        "new file mode 100644",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=25))
def test_any_sequence_of_diff_lines_parses_or_fails_cleanly(lines: list[str]) -> None:
    """Whatever the order of diff-like lines, the parser returns files or a one-line error."""
    try:
        parsed = parse_diff_text("\n".join(lines), "h.diff")
    except InputError as exc:
        # the property is about whatever error is raised, so it is checked where it is caught
        assert "\n" not in str(exc)  # noqa: PT017
    else:
        assert all(f.path for f in parsed.files)
