"""Notebook views: HTML reprs and ipywidgets of the lakehouse's parts."""
