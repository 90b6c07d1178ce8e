"""Policy unit tests: small graphs written as data, and the findings a policy must give."""
