"""`python -m flows.cli ...`: the same as `devicepipe ...`."""

from flows.cli.app import main

main()
