"""`python -m rnnviz` is the `rnnviz` command."""

from rnnviz.cli.main import main

raise SystemExit(main())
