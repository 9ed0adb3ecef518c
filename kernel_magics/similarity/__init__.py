"""Similarity search over embedding columns: the vector index of each column and the
nearest-neighbour queries (``lh.similarity``; see ``api``)."""
