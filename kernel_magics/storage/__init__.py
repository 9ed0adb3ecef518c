"""How the files of a lakehouse are opened: Delta tables (as pyarrow datasets, over a native
pyarrow filesystem), fast appends, and the small descriptor files ``lakebook recover`` reads."""
