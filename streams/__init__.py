"""paymend-streams: Kafka stream processor for Paymend payment recovery.

Subpackages: `streams.broker` (the embedded Tansu broker and topic administration),
`streams.paymend` (the Paymend API client), `streams.sandbox` (the Paymend sandbox simulator).
The CLI is `python -m streams`.
"""

__version__ = "0.1.0"
