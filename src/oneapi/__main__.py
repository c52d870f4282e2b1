"""`python -m oneapi` is the `one-api` command."""

from oneapi.cli import main

raise SystemExit(main())
