"""The recovery pipeline: a pure decision core (`decide`) and the stateful agent that applies it."""
