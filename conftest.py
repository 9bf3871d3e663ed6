# The student notebooks in exercises/ raise NotImplementedError by design, so pytest does not
# execute them; tests/test_notebooks.py checks they are exactly what the generator makes.
collect_ignore_glob = ["*/exercises/*.ipynb", "*/.ipynb_checkpoints/*", "*/artifacts/*"]
