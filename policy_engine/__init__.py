"""mlpolicy: policy-as-code for the security of machine-learning pipelines.

The pipeline, one package per arrow::

    policy text --language--> AST --compiler--> IR ----------+
                                                             +--> evaluate --> findings --> report
    repository + attestations --graph.builders--> graph -----+
"""

__version__ = "0.1.0"
