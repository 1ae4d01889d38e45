"""Shared content analysers: what a change grants and exposes, read from its content.

`changes.analyse_proposal` reads a Terraform plan; `hcl` reads the HCL of a
diff into the same states. Both return `access.AccessFinding`s, the one typed
result the scope reviewer, SARIF and Markdown cite.
"""
