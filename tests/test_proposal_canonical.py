"""The proposal's canonical text and digest are encoded once and mean what they always meant."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.adapters.base import Submission, load_proposal
from orchestrator.models import Source
from orchestrator.store import chain
from orchestrator.testing import plan_document, resource_change

TEXT = st.text(max_size=8)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def proposal_of(after: dict[str, Any], name: str) -> Any:
    plan = plan_document([resource_change("aws_s3_bucket.b", ["update"], before={}, after=after)])
    submission = Submission(source=Source.HUMAN, actor="ann", environment="production")
    return load_proposal(json.dumps(plan).encode(), name, submission)


@settings(max_examples=40, deadline=None)
@given(after=st.dictionaries(TEXT, VALUES, max_size=4), name=TEXT.filter(bool))
def test_canonical_text_and_digest_are_the_documents(after: dict[str, Any], name: str) -> None:
    """The stored text is the document's canonical JSON; the digest ignores the file name."""
    proposal = proposal_of(after, name)
    assert proposal.canonical_json == chain.canonical(proposal.document)
    assert proposal.digest() == chain.proposal_digest(proposal.document)
    assert proposal_of(after, name + "-elsewhere").digest() == proposal.digest()
