"""The paper's studies as experiments with a verdict: the runner (specs, conditions, the rule, results) and their figures.

Imports training and evaluation; nothing but the course and the command line imports it.
"""
