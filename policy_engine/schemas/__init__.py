"""Schemas of external documents: the ML evidence predicate types and what each must hold,
and the configuration file."""
