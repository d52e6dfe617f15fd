"""The conformance suite's test modules, run by ``hookseal-conformance`` through pytest."""
