"""The front doors: thin layers that turn what a user does into calls of the core API.

``magics/`` (the notebook's ``%%feature``, ``%%training``, ``%%inference`` and ``%lakebook``),
``cli/`` (the ``lakebook`` command), ``rest/`` (the Jupyter server extension under
``/lakebook/api``), ``serve/`` (the standalone ``lakebook serve`` prediction server) and
``widgets/`` (ipywidgets views). A door parses, calls :class:`~kernel_magics.lakehouse.Lakehouse`
and shows the answer; no rule of the product lives here, and nothing below imports a door.
"""
