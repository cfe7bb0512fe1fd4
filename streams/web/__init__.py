"""The worker's HTTP endpoints, served by faust's web server on `WORKER_WEB_PORT`.

- `webhook`: POST `WEBHOOK_PATH`, Paymend's webhooks onto the raw webhook topic (`auth`: its
  token and signature checks, pure functions).
- `health`: GET `/live` and `/ready` (Kubernetes probes).
- `/metrics` is faust's Prometheus view, set up by `streams.app.create_app`.
"""
