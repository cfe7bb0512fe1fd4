"""`python -m streams`: the command-line entry point."""

from streams.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
