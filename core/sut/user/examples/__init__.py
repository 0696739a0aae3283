"""Three example pipelines, each correct and with a planted bug.

tests/quality/test_user_pipelines.py verifies each both ways.
"""
