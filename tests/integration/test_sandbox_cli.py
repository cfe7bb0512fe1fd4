"""`python -m streams sandbox` as a process: prints its URL, serves, stops on SIGTERM/SIGINT."""

import asyncio
import os
import signal
import sys

import httpx
import pytest

from tests.fixtures.sandbox import payment_request

pytestmark = pytest.mark.integration


async def start(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams",
        "sandbox",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_serves_until_signalled(sig: signal.Signals) -> None:
    process = await start("--port", "0", "--pending-delay-ms", "fixed:10", env={"SANDBOX_TOKEN": "cli-token"})
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer cli-token"}) as client:
            assert (await client.get("/_sandbox/health")).status_code == 200
            created = await client.post("/v1/payments", json=payment_request())
            assert created.status_code == 200
            assert created.json()["status"] == "AUTHORIZED"
        process.send_signal(sig)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    logs = (await process.stderr.read()).decode()
    assert "cli-token" not in logs
    assert "4444444444440000" not in logs


async def test_invalid_settings_exit_2() -> None:
    process = await start("--fault-error-rate", "3")
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"SANDBOX_FAULT_ERROR_RATE" in stderr
