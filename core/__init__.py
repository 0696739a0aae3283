# Layout of core/, the suite's engine:
#   profiles.py   Hypothesis profiles (dev, ci, nightly), selected by HYPOTHESIS_PROFILE
#   checks.py     Check and Finding, discovered from stateful/ and properties/
#   verify.py     `make verify`: runs every check, prints the table, writes reports/
#   report.py     renders verify's table, JSON and Markdown
#   sut/          the adapter to Stageflow: the only package that imports stageflow
"""stageflow-verify's engine: profiles, checks, the verify runner and the Stageflow adapter."""
