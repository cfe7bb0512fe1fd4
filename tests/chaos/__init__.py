"""The reliability suite (`make chaos`): the whole service under crashes, faults and bad input.

Each scenario is a function that takes its size, runs against real processes (embedded broker,
sandbox, worker; see `tests.harness.system.System`) and returns a `Result`: what was sent, what
arrived, what was lost or duplicated, which invariants were violated (with a `failures` list that
says which and where). The runner (`python -m tests.chaos`) runs every scenario at full size and
prints one table; `tests/integration/test_chaos.py` runs the same functions at small sizes in
`make test`.

| module | scenario |
|---|---|
| `crashes` | kill -9 the worker N times during a decline run, restarting it each time |
| `faults` | Paymend answering 5xx, 429 and timing out |
| `webhooks` | Paymend's webhooks duplicated and reordered |
| `races` | the hypothesis property of the decision core over stop/create/webhook interleavings |
| `bad_input` | fuzzed records on every input topic and fuzzed webhook bodies over HTTP |
| `stall` | the broker stopped (SIGSTOP) while Paymend's webhooks keep coming |
"""
