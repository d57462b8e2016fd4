"""nbval (`make test`): every notebook cell it runs fails when its outputs hold noise — stderr, a warning, an ANSI
code, a machine path, a raw log dict, a stream of `step=` lines (helpers.env.quiet) — even in lax mode, where nbval
compares no outputs. (`make rehearsal` and `make course` check their saved executed copies: helpers.learner.course.)"""

from __future__ import annotations

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)
    if type(item).__name__ == "IPyNbCell" and outputs:
        from helpers.env.quiet import scan_cell_outputs

        found = scan_cell_outputs(outputs)
        if found:
            pytest.fail("the cell's outputs hold more than the lesson (helpers.env.quiet):\n" +
                        "\n".join(f"  {reason}: {excerpt!r}" for reason, excerpt in found), pytrace=False)
    return result
