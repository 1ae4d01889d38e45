"""Content analysers the adapters and reviewers share: facts read from inside a change.

What a change grants and exposes: `changes.analyse_proposal` reads a
Terraform plan, `hcl` reads the HCL of a diff into the same states; both
return `access.AccessFinding`s, the one typed result the scope reviewer,
SARIF and Markdown cite. SQL hazards: `sql_hazards` reads a migration
statement by statement into typed facts.
"""
