"""`python -m rnnviz` is the `rnnviz` command."""

from rnnviz.cli import main

raise SystemExit(main())
