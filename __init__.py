"""lrcplan: planning engine for learning in regular classrooms (随班就读)."""

__version__ = "0.1.0"
