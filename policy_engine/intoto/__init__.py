"""Judging an in-toto supply chain from its facts, as ``in-toto-verify`` does (pure, no I/O).

``model`` holds the facts (a layout, its link files, the problems found),
``check`` judges them in in-toto's order and ``rules`` applies the artifact
rules with in-toto's firewall semantics. Reading the facts from disk is
:mod:`policy_engine.supplychain`'s job (``mlpolicy verify``); the graph
builders run the same checker over the layouts a policy trusts.
"""
