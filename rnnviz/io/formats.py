"""The export formats by key: light (no networkx, no torch), so the CLI builds its --format
choices from this list without paying for the exporters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its key (the CLI's --format), file extension and what it draws from.

    kind is "data" (from the graph), "table" (from the shape report), "drawn" (the diagram as
    the window draws it) or "gates" (the gate heatmaps, which need a trace).
    """

    key: str
    ext: str
    label: str
    kind: str

    @property
    def needs_qt(self) -> bool:
        """True for the formats rendered by Qt (drawn diagrams and gate heatmaps)."""
        return self.kind in ("drawn", "gates")


FORMATS: dict[str, ExportFormat] = {
    f.key: f
    for f in (
        ExportFormat("svg", "svg", "SVG diagram (vector, for slides and the web)", "drawn"),
        ExportFormat("png", "png", "PNG diagram (raster)", "drawn"),
        ExportFormat("pdf", "pdf", "PDF diagram (vector, for papers)", "drawn"),
        ExportFormat("graphml", "graphml", "GraphML graph (yEd, Gephi, networkx)", "data"),
        ExportFormat("dot", "dot", "Graphviz DOT graph", "data"),
        ExportFormat("json", "json", "node-link JSON graph (networkx, d3)", "data"),
        ExportFormat("md", "md", "Markdown shape and parameter tables", "table"),
        ExportFormat("csv", "csv", "CSV shape and parameter table", "table"),
        ExportFormat("gates-png", "png", "gate heatmaps as PNG", "gates"),
        ExportFormat("gates-svg", "svg", "gate heatmaps as SVG", "gates"),
    )
}
