"""The command-line surface: one sub-command per process the project can run.

Each sub-command lives in the module that owns it, which provides `add_arguments(parser)` and
`main(args) -> int`. This module only dispatches, importing just the chosen module, so that
`python -m streams sandbox` does not import faust.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

#: sub-command -> (module, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("streams.sandbox.cli", "Run the Paymend sandbox simulator (HTTP)."),
    "broker": ("streams.broker.cli", "Run the embedded Kafka-protocol broker (Tansu) in the foreground."),
    "topics": ("streams.broker.topics_cli", "Create the service's topics with their partition counts."),
    "worker": ("streams.worker", "Run the stream-processing worker (faust) and its web server."),
    "run": ("streams.local.run", "Run everything locally: broker, sandbox and demo traffic."),
    "stop": ("streams.local.stop", "Stop what `run` started, by the pids it recorded."),
    "demo": ("streams.local.demo", "Produce demo merchant traffic (declines, cancels, paid elsewhere)."),
    "progress": ("streams.local.progress", "Print recovery progress read from the status topic."),
}


def usage() -> str:
    lines = ["usage: python -m streams COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    if args[0] not in COMMANDS:
        print(f"unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    name = args[0]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"python -m streams {name}", description=help_text)
    parser.set_defaults(command=name)
    module.add_arguments(parser)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    code: int = module.main(parser.parse_args(args[1:]))
    return code
