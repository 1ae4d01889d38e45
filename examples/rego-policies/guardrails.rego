# Guardrails for Terraform plans, written as a conftest policy would be: the
# plan is `input`, commander adds `input.commander` (who proposes it, where).
package terraform.guardrails

import rego.v1

# IAM changes by AI agents need a person, whatever the environment.
deny contains msg if {
	input.commander.source == "ai-agent"
	some change in input.resource_changes
	startswith(change.type, "aws_iam_")
	not "no-op" in change.change.actions
	msg := sprintf("AI agents may not change IAM: '%s'", [change.address])
}

# Types the platform team has retired (data.json).
deny contains msg if {
	some change in input.resource_changes
	change.type in data.guardrails.retired_types
	"create" in change.change.actions
	msg := sprintf("%s is retired: do not create '%s'", [change.type, change.address])
}

warn contains msg if {
	deletes := [c | some c in input.resource_changes; "delete" in c.change.actions]
	count(deletes) > 0
	msg := sprintf("%d resources are deleted", [count(deletes)])
}
