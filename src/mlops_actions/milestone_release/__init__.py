"""milestone-release: a closed milestone becomes a verified tag and a release; milestones as code.

The modules here are pure (dataclasses in, dataclasses out) except ``gh`` (the GitHub API, through
``mlops_actions.github_client``) and ``command`` (inputs, config, the runner).
"""
