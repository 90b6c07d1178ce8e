"""Producing evidence: key pairs, signed statements of ML security activities, in-toto links."""
