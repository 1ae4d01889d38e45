package terraform.guardrails

import rego.v1

iam_change := {"resource_changes": [{
	"address": "aws_iam_role.ci",
	"type": "aws_iam_role",
	"change": {"actions": ["create"]},
}]}

test_an_agent_may_not_touch_iam if {
	deny["AI agents may not change IAM: 'aws_iam_role.ci'"] with input as object.union(iam_change, {"commander": {"source": "ai-agent"}})
}

test_a_person_may if {
	count(deny) == 0 with input as object.union(iam_change, {"commander": {"source": "human"}})
}

test_retired_types_come_from_data if {
	some msg in deny with input as {"resource_changes": [{"address": "aws_elb.old", "type": "aws_elb", "change": {"actions": ["create"]}}]}
	startswith(msg, "aws_elb is retired")
}
