"""``lakebook demo``: the credit-card fraud example, end to end."""
#: transactions in the simulated world unless ``--size`` says otherwise
DEFAULT_SIZE = 100_000
