"""Command-line interface: one module per verb; each turns flags into arguments of a library call."""
