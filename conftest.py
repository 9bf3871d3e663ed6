import os

# The student notebooks in exercises/ raise NotImplementedError by design, so pytest does not
# execute them; tests/test_notebooks.py checks they are exactly what the generator makes.
collect_ignore_glob = ["*/exercises/*.ipynb", "*/.ipynb_checkpoints/*", "*/artifacts/*"]

# pytest-xdist runs one notebook per worker. If every worker's kernel also used every core,
# PyTorch's and MKL's thread pools would fight over the cores and stall (on 2 cores, small
# matrix products went from microseconds to tens of milliseconds). Share the cores out instead;
# the kernels that nbval starts inherit these variables.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    _threads = str(max(1, (os.cpu_count() or 1) // _workers))
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, _threads)
