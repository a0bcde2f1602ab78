"""Read a collection, compute, render (status, changes, verify, report...); no argparse."""
