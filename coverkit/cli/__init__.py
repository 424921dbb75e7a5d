"""Command-line interface: a thin shell over the coverkit API."""
