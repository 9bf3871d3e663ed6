"""The course projects, importable as ``projects.<name>`` so notebooks and tests share their code."""
