"""Content analysers the adapters and reviewers share: facts read from inside a change.

Pure functions over parsed inputs, returning typed results, used by the
adapters (to learn the file lines of what they will point at) and by the
reviewers (to judge):

* what a change grants and exposes: `changes.analyse_proposal` reads a
  Terraform plan, `hcl` reads the HCL of a diff into the same states; both
  return `access.AccessFinding`s, the one result the scope reviewer, SARIF
  and Markdown cite;
* Kubernetes: `pod_security` (the Pod Security Standards, every control),
  `kubernetes_rbac`, `kubernetes_exposure`;
* SQL: `sql_hazards` reads a migration statement by statement into facts.
"""
