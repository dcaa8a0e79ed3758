"""The desktop app: the only package in rnnviz that imports Qt (PySide6, pyqtgraph)."""
