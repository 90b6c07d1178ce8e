"""The policy language: text to a typed AST with source spans."""

from policy_engine.language.parser import parse_file, parse_text

__all__ = ["parse_file", "parse_text"]
