"""`python -m service.cli ...` (how `hwsearch serve` starts its workers)."""

from service.cli import main

main()
