"""The notebooks run without the test session's thread limit (issue 21).

``tests/conftest.py`` limits OpenMP and BLAS to one thread for the whole pytest session; that once hid a
2-9x slowdown of fitting from CI. nbval runs each notebook in a kernel of its own, a separate process: this
starts one exactly as ``--nbval-current-env`` does, from inside the limited session, and checks that the
notebook code sees the libraries' own thread counts, and no thread variable in its environment.
"""

from __future__ import annotations

import json
import os

import pytest
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, RunningKernel
from threadpoolctl import threadpool_info

PROBE = (
    "import json, os, sklearn.ensemble, threadpoolctl\n"
    "print(json.dumps({'pools': {p['user_api']: p['num_threads'] for p in threadpoolctl.threadpool_info()},\n"
    "                  'env': sorted(k for k in os.environ if k.endswith('_NUM_THREADS'))}))\n"
)


@pytest.mark.timeout(180)
def test_a_notebook_kernel_is_not_limited(tmp_path: object) -> None:
    limited = {p["user_api"]: p["num_threads"] for p in threadpool_info()}
    assert limited.get("openmp") == 1, "the session-wide limit of tests/conftest.py is in force here"
    kernel = RunningKernel(CURRENT_ENV_KERNEL_NAME, str(tmp_path), startup_timeout=120)
    try:
        message = kernel.execute_cell_input(PROBE, allow_stdin=False)
        output = ""
        while True:
            reply = kernel.get_message(stream="iopub", timeout=120)
            if reply["parent_header"].get("msg_id") != message:
                continue
            if reply["msg_type"] == "stream":
                output += reply["content"]["text"]
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                break
    finally:
        kernel.stop()
    seen = json.loads(output)
    assert seen["env"] == [], f"run the tests without {seen['env']}: notebooks are measured without thread limits"
    assert seen["pools"]["openmp"] == (os.cpu_count() or 1), seen  # libgomp's own default: one per CPU
