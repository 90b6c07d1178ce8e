"""`python -m policy_engine` is the `mlpolicy` command."""

from policy_engine.cli import main

if __name__ == "__main__":
    main()
