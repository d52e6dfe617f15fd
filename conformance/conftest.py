"""Keep a plain ``pytest conformance`` from collecting the packaged suite's modules.

They run only through ``hookseal-conformance`` (or ``--pyargs`` with an adapter given).
"""

collect_ignore_glob = ["src/*"]
