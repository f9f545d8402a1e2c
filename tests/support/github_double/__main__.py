"""Run the double on its own: `python -m tests.support.github_double --port 0 --state s.json`.

Prints the bound URL on the first line of stdout, then serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .server import GitHubDouble
from .spec import ENV_VAR
from .state import SeedError, State


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.github_double", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--state", type=Path, help="initial state file (JSON or YAML)")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip OpenAPI validation (debugging the double only)",
    )
    parser.add_argument(
        "--spec", type=Path, help=f"OpenAPI description (default: ${ENV_VAR} or shared/)"
    )
    args = parser.parse_args(argv)

    state = State()
    try:
        if args.state is not None:
            state.load_file(args.state)
        double = GitHubDouble(
            state,
            host=args.host,
            port=args.port,
            validate=not args.no_validate,
            spec_path=args.spec,
        )
    except (SeedError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        double.start()
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(double.url, flush=True)
    stop.wait()
    double.stop()
    for violation in double.violations:
        print(f"violation: {violation}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
