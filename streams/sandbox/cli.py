"""`python -m streams sandbox`: run the simulator until SIGINT or SIGTERM.

Every `SandboxConfig` field is a flag (`--webhook-url`, `--fault-error-rate`, booleans as
`--flag/--no-flag`) and an environment variable (`SANDBOX_WEBHOOK_URL`, ...); a flag wins. Once
serving, the base URL is printed alone on the first line of stdout (scripts read it there; with
`--port 0` it carries the chosen port). Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from streams.sandbox.config import SandboxConfig, SandboxConfigError, config_fields, env_name
from streams.sandbox.server import SandboxServer

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per `SandboxConfig` field; unset flags fall back to the environment, then defaults."""
    for name, type_, default, doc in config_fields():
        flag = "--" + name.replace("_", "-")
        shown = "(secret)" if name in {"token", "webhook_token", "webhook_hmac_secret"} else repr(default)
        help_text = f"{doc} [env {env_name(name)}; default {shown}]".replace("%", "%%")
        if type_ is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=type_, default=None, help=help_text, metavar=name.upper())


def config_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> SandboxConfig:
    flags = {
        name: getattr(args, name) for name, *_ in config_fields() if getattr(args, name, None) is not None
    }
    return SandboxConfig.from_env(os.environ if environ is None else environ, **flags)


async def serve(config: SandboxConfig) -> None:
    """Serve until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with SandboxServer(config) as server:
            print(server.url, flush=True)
            await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def main(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except SandboxConfigError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(config))
    return 0
