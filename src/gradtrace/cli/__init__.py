"""Command-line interface: parse, validate, call one library function, print."""
