"""Schemas of evidence documents: the ML evidence predicate types and what each must hold."""
