"""The OutputBag and ContextBag findings: which findings the bag machines adopt, and why.

The bags' own aliasing findings turned out to be symptoms of StageOutput's: an OutputBag stores
the StageOutput it is given and hands the same one to every reader, so what the writer or a
reader does to its ``data`` dict is what the bag holds. Each is registered once, where its cause
lives, with the bag symptom in its reproducer:

* SF-VAL-08 (``properties/stage_output.py``; absorbed SF-BAG-01): a StageOutput keeps the
  caller's dict, so mutating a dict after writing it changes the bag's output.
* SF-RUN-07 (``stateful/graph_findings.py``; absorbed SF-BAG-02): readers get the stored dict,
  so mutating the data a read returned rewrites the bag's output.

The bag machines adopt them (while they reproduce) as the ``aliases_*`` deviations of their
models (``models/bags.py``), so they keep checking linearizability, attempts and conflicts past
them. SF-BAG-03 (ContextBag.to_dict's copy shares nested values) was withdrawn: the copy is
documented as a copy of the internal dictionary, and the ContextBag model states that as its rule.
"""

from __future__ import annotations

from stageflow_verify.core.run.checks import Finding, documented
from stageflow_verify.core.run.withdrawn import Withdrawn
from stageflow_verify.properties.stage_output import FINDINGS as STAGE_OUTPUT_FINDINGS
from stageflow_verify.stateful.graph_findings import FINDINGS as GRAPH_FINDINGS

OUTPUT_CHECK = "bags.output_bag_linearizable"
CONTEXT_CHECK = "bags.context_bag_linearizable"
WRITTEN_DICT_SHOWS = "SF-VAL-08"  # was SF-BAG-01
READ_DATA_WRITES_BAG = "SF-RUN-07"  # was SF-BAG-02

# The findings the bag machines adopt: the same objects their own modules publish (verify counts
# each once).
FINDINGS: list[Finding] = [
    f for f in (*STAGE_OUTPUT_FINDINGS, *GRAPH_FINDINGS)
    if f.id in (WRITTEN_DICT_SHOWS, READ_DATA_WRITES_BAG)
]  # fmt: skip

WITHDRAWN: list[Withdrawn] = [
    Withdrawn(
        id="SF-BAG-03",
        title="ContextBag.to_dict() 'copy' shares nested values with the bag",
        reason="to_dict is documented to return a copy of the internal dictionary, and "
        "self._data.copy() is exactly that: a new dict whose values are the bag's (read() hands "
        "out the same values). Changing a nested value of the copy changes the bag, as a dict "
        "copy does; the ContextBag model now states this as its rule. (ContextBag is also "
        "deprecated in 1.2.0.)",
        basis=documented(
            ("Copy of the internal data dictionary", "stageflow/context/bag.py:126"),
            ("The stored value or default", "stageflow/context/bag.py:88"),
        ),
    ),
]
