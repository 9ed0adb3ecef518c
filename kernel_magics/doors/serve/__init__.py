"""``lakebook serve``: the standalone prediction server (Lakebook's and MLflow's protocols)."""
