"""Rebuild the example notebooks in this folder from ``kernel_magics/demo/notebooks.py``.

    .venv/bin/python notebooks/build_notebooks.py
"""
from pathlib import Path

from kernel_magics.demo.notebooks import write_notebooks

if __name__ == "__main__":
    for path in write_notebooks(Path(__file__).resolve().parent):
        print(path)
