"""branch-policy: the branch strategy (gitflow or trunk-based) as a pull-request gate.

``policy`` is the pure check over (head, base, policy); ``settings`` reads the config section,
``event`` the webhook payload, ``drift`` the local history, ``gh`` the API (release checks,
back-merge, merge settings) and ``command`` wires them to the runner.
"""
