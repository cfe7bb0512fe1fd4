"""The local stack behind `make run` and `make stop`: embedded broker, sandbox, worker, demo."""
