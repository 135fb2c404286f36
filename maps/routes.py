"""Map layers and report sections of the routes stage (registered on import)."""

from __future__ import annotations
