"""Preload files injected into adapters to observe constant-time comparisons.

``sitecustomize.py`` (Python, via ``PYTHONPATH``), ``hookseal_ct.js`` (Node, via
``NODE_OPTIONS=--require``) and ``hookseal_ct.rb`` (Ruby, via ``RUBYOPT=-r``) each wrap
their runtime's constant-time primitive and append one line per call to the file named by
``HOOKSEAL_CT_LOG``: ``loaded <runtime> <pid>`` once, then ``call <runtime> <len> <len>``.
"""
