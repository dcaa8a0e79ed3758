"""Launch the rnnviz window: `python main.py` (same as `rnnviz gui`)."""

import sys

from rnnviz.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
