"""A planted contract bug for ``make contracts``: the post-condition forgets overwrites.

``attempts_after`` is the attempt counter of an OutputBag stage after one more write, the way
``models/bags.py`` counts it. The contract claims a retry (``overwrite``) leaves the counter
alone, which is wrong for every stage that already has output: CrossHair must find one.
"""


def attempts_after(attempts: int, overwrite: bool) -> int:
    """The attempt counter after a write, or -1 for a refused one.

    pre: attempts >= 0
    post: not overwrite or __return__ == max(attempts, 1)
    """
    if attempts == 0:
        return 1
    return attempts + 1 if overwrite else -1
