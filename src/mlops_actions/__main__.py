import sys

if sys.argv[1:2] == ["env-verify"]:
    # Its probe first: it runs in the job's interpreter while the command line is imported.
    from mlops_actions.env_verify import early

    early.start(sys.argv[2:])

from mlops_actions.cli import main

raise SystemExit(main())
