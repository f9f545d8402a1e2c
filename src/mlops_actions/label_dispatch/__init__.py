"""label-dispatch: labels as code, label-driven routing to runners, and the status report.

The modules here are pure (config records, taxonomy, sync plan, routes and gate, marker comment,
LABELS.md, lint); ``api`` talks to GitHub and ``command`` wires them to the runner.
"""
