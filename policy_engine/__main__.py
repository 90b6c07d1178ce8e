"""`python -m policy_engine` is the `mlpolicy` command."""

from policy_engine.cli import run

if __name__ == "__main__":
    run()
