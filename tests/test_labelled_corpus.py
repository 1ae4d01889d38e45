"""Every labelled real input, reviewed as a registered person in staging and in production.

`../shared/corpus/labelled/labels.tsv` says what a careful SRE would decide
for each file: `gate` must not be approved, `approve` should be approved
outside production, `either` may go both ways, `invalid` is not a valid input
of its kind (exit 1). These tests hold the reviewers to that, in both
environments, through the same core function as `commander review`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from orchestrator.adapters.base import Submission
from orchestrator.errors import InputError
from orchestrator.models import Source
from orchestrator.review import ReviewRequest, run_review
from orchestrator.settings import Settings
from tests.conftest import corpus_root

ENVIRONMENTS = ("staging", "production")

# Labels the reviewers disagree with on the file's own content, and why. Strict xfail: a
# change that makes one pass fails the run until its line is removed here.
DISPUTED: dict[tuple[str, str], str] = {
    # kyverno's cr8escape policy checks only the values; the Pod Security baseline allows
    # only its safe set of sysctl names, and `foo` and `bar` are not in it (the kubelet
    # refuses them too), so a careful SRE escalates.
    ("kubernetes/kyv__prevent-cr8escape__pods-good.yaml", "staging"): "unsafe sysctls",
    ("kubernetes/kyv__prevent-cr8escape__podcontroller-good.yaml", "staging"): "unsafe sysctls",
}


def _labelled() -> list[dict[str, str]]:
    root = corpus_root()
    table = root / "labelled" / "labels.tsv" if root else None
    if table is None or not table.is_file():
        return []
    with table.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _labelled()
CASES = [
    pytest.param(
        row,
        env,
        id=f"{env}:{row['file']}",
        marks=[pytest.mark.xfail(reason=DISPUTED[(row["file"], env)], strict=True)]
        if (row["file"], env) in DISPUTED
        else [],
    )
    for row in ROWS
    for env in ENVIRONMENTS
]


@pytest.mark.corpus
@pytest.mark.skipif(not ROWS, reason="labelled corpus not found: set COMMANDER_CORPUS_DIR")
@pytest.mark.parametrize(("row", "environment"), CASES)
def test_labelled_input_decides_as_a_careful_sre(
    row: dict[str, str], environment: str, tmp_path: Path
) -> None:
    """No `gate` file is approved, no valid file exits 1, `approve` files pass in staging."""
    root = corpus_root()
    assert root is not None
    request = ReviewRequest(
        path=str(root / "labelled" / row["file"]),
        submission=Submission(source=Source.HUMAN, actor="alice", environment=environment),
        settings=Settings(
            database_url=f"sqlite:///{tmp_path / 'audit.db'}", config_dir=None, topology=None
        ),
    )
    label = row["label"]
    if label == "invalid":
        with pytest.raises(InputError):
            run_review(request)
        return
    decision = run_review(request).decision
    why = f"{row['file']} ({row['note']}) in {environment}: {decision.outcome}, " + "; ".join(
        decision.rationale
    )
    if label == "gate":
        assert decision.outcome != "approve", why
    if label == "approve" and environment == "staging":
        assert decision.outcome == "approve", why
