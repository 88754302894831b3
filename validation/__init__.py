"""Validation stage: Great Expectations suites derived from the data contracts.

Every landed row ends in exactly one of `validated` or `quarantine` (with its reasons);
a batch that is unusable as a whole fails with the failed expectations named.
"""
