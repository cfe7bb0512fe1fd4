"""The Kafka side of the service: the embedded broker, client configuration and topic administration.

- `streams.broker.embedded`: `EmbeddedBroker`, the lifecycle of a local Tansu process (tests and
  `make run`; never production).
- `streams.broker.client_config`: `Settings` mapped onto confluent-kafka and faust client options,
  including the Tansu-only tuning applied when `KAFKA_EMBEDDED` is true.
- `streams.broker.topics`: the service's topics (`service_topics`) and their idempotent creation
  with a partition-count check (`ensure_topics`).
- `streams.broker.errors`: the exception tree of this package.
- `streams.broker.cli` and `streams.broker.topics_cli`: the `broker` and `topics` sub-commands.

Nothing is re-exported here, so importing one module does not import the others' dependencies.
"""
