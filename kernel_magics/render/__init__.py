"""HTML of plain data (dicts from ``to_dict()``): the notebook cards, tables and charts that
``_repr_html_`` methods, magics and widgets show. It imports nothing from the areas or the
doors, so every presentation choice (colours, links, layout) is made here once."""
